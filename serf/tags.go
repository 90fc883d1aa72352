package serf

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

// tagMagicByte starts node metadata that holds an encoded tag map. Older
// protocols (2) put the bare role string there instead.
const tagMagicByte byte = 0xFF

// errTagsTooLarge is Serf's message when tags do not fit in node metadata.
var errTagsTooLarge = fmt.Errorf("Encoded length of tags exceeds limit of %d bytes", memberlist.MetaMaxSize)

// encodeTags encodes tags for memberlist node metadata: the magic byte and a
// msgpack map, or for protocol 2 the role alone.
func encodeTags(protocol uint8, tags map[string]string) ([]byte, error) {
	if protocol < 3 {
		return []byte(tags["role"]), nil
	}
	var buf bytes.Buffer
	buf.WriteByte(tagMagicByte)
	if tags == nil {
		// Serf encodes its (never nil) config map: an empty map, not nil.
		tags = map[string]string{}
	}
	if err := codec.NewEncoder(&buf, gossipHandle).Encode(tags); err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeTags reads node metadata. Metadata without the magic byte is a bare
// role. A map that fails to decode part way keeps what was decoded and
// returns the error for the caller to log.
func decodeTags(meta []byte) (map[string]string, error) {
	tags := make(map[string]string)
	if len(meta) == 0 || meta[0] != tagMagicByte {
		tags["role"] = string(meta)
		return tags, nil
	}
	err := codec.NewDecoderBytes(meta[1:], gossipHandle).Decode(&tags)
	if tags == nil {
		// A msgpack nil decodes to a nil map; members always have a map.
		tags = make(map[string]string)
	}
	return tags, err
}
