package client

import (
	"github.com/openserf/serf/internal/testutil/golden"
	"runtime"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// replyBodies makes one of each body the client decodes after a
// ResponseHeader: command replies and stream records.
var replyBodies = []func() any{
	func() any { return new(JoinResponse) },
	func() any { return new(MembersResponse) },
	func() any { return new(KeyResponse) },
	func() any { return new(map[string]map[string]string) },
	func() any { return new(CoordinateResponse) },
	func() any { return new(QueryRecord) },
	func() any { return new(LogRecord) },
	func() any { return new(map[string]interface{}) },
	func() any { return new(UserEventRecord) },
	func() any { return new(QueryEventRecord) },
	func() any { return new(MemberEventRecord) },
}

// fuzzHandle is shared, so that go-msgpack's type cache stays warm.
var fuzzHandle = NewCodecHandle()

// decodeReply decodes data as a ResponseHeader followed by the body made
// by newBody, as the client's reader does. It must never panic.
func decodeReply(data []byte, newBody func() any) error {
	dec := codec.NewDecoderBytes(data, fuzzHandle)
	var h ResponseHeader
	if err := dec.Decode(&h); err != nil {
		return err
	}
	return dec.Decode(newBody())
}

// FuzzDecodeResponse feeds arbitrary bytes to the decoders of the reply
// header and of every reply body and stream record.
func FuzzDecodeResponse(f *testing.F) {
	for name := range goldenFrames {
		f.Add(golden.Read(f, name))
	}
	f.Add([]byte{0x82, 0xa5, 'E', 'r', 'r', 'o', 'r', 0xa0, 0xa3, 'S', 'e', 'q', 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		for _, newBody := range replyBodies {
			decodeReply(data, newBody)
		}
	})
}

// TestDecodeHugeLengths checks that lengths claimed by a hostile agent
// do not make the decoder allocate them up front: a few bytes that
// announce gigabytes must fail after modest allocations.
func TestDecodeHugeLengths(t *testing.T) {
	header := []byte{0x82, 0xa5, 'E', 'r', 'r', 'o', 'r', 0xa0, 0xa3, 'S', 'e', 'q', 0x01}
	bodies := map[string][]byte{
		"bin32 of 4 GiB":       {0x81, 0xa3, 'L', 'o', 'g', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x'},
		"str32 of 4 GiB":       {0x81, 0xa3, 'L', 'o', 'g', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},
		"array32 of members":   {0x81, 0xa7, 'M', 'e', 'm', 'b', 'e', 'r', 's', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80},
		"map32 at top level":   {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'},
		"array32 of anything":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01},
		"nested arrays, deep":  deepArrays(5000),
		"map32 of stats maps":  {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0xdf, 0xff, 0xff, 0xff, 0xff},
		"float vec of 4 G els": {0x81, 0xa5, 'C', 'o', 'o', 'r', 'd', 0x81, 0xa3, 'V', 'e', 'c', 0xdd, 0xff, 0xff, 0xff, 0xff},
	}
	const limit = 64 << 20
	for name, body := range bodies {
		data := append(append([]byte{}, header...), body...)
		for i, newBody := range replyBodies {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := decodeReply(data, newBody)
			runtime.ReadMemStats(&after)
			if err == nil {
				continue // some bodies ignore the field that lies
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > limit {
				t.Errorf("%s into body %d: allocated %d bytes, want under %d", name, i, got, limit)
			}
		}
	}
}

// deepArrays returns n nested one-element arrays.
func deepArrays(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0x91
	}
	return b
}
