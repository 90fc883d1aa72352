package serf

import (
	"bytes"
	"github.com/openserf/serf/internal/testutil/golden"
	"reflect"
	"testing"
)

// The fuzz targets feed decoders bytes a peer could send. None may panic,
// and whatever decodes must encode again and decode to the same value, so
// that a rebroadcast or a relay never changes a message's meaning. Seeds
// are the golden fixtures; crashers found are kept in testdata/fuzz.

// fuzzMessageValue returns a new value to decode a message of type t into,
// as the receiving code does, or nil for the relay type and unknown types.
func fuzzMessageValue(t messageType) any {
	switch t {
	case messageLeaveType:
		return new(messageLeave)
	case messageJoinType:
		return new(messageJoin)
	case messagePushPullType:
		return new(messagePushPull)
	case messageUserEventType:
		return new(messageUserEvent)
	case messageQueryType:
		return new(messageQuery)
	case messageQueryResponseType:
		return new(messageQueryResponse)
	case messageConflictResponseType:
		return new(Member)
	case messageKeyRequestType:
		return new(keyRequest)
	case messageKeyResponseType:
		return new(nodeKeyResponse)
	}
	return nil
}

// checkMessageRoundTrip decodes body as a message of type t and, if that
// works, checks that encoding and decoding again gives the same value.
func checkMessageRoundTrip(t *testing.T, typ messageType, body []byte) {
	t.Helper()
	first := fuzzMessageValue(typ)
	if err := decodeMessage(body, first); err != nil {
		return
	}
	raw, err := encodeMessage(typ, first)
	if err != nil {
		t.Fatalf("encodeMessage(%d, %+v) error = %v", typ, first, err)
	}
	if messageType(raw[0]) != typ {
		t.Fatalf("encodeMessage(%d, ...)[0] = %d, want %d", typ, raw[0], typ)
	}
	second := fuzzMessageValue(typ)
	if err := decodeMessage(raw[1:], second); err != nil {
		t.Fatalf("decodeMessage(encodeMessage(%+v)) error = %v", first, err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("decodeMessage(encodeMessage(%+v)) = %+v, want the same", first, second)
	}
}

// checkRelayHeader checks decodeRelayHeader on body (a relay message after
// its type byte): the rest is the tail of body, and the header survives a
// re-encoding with the same rest behind it.
func checkRelayHeader(t *testing.T, body []byte) {
	t.Helper()
	hdr, rest, err := decodeRelayHeader(body)
	if err != nil {
		return
	}
	if len(rest) > len(body) || !bytes.Equal(body[len(body)-len(rest):], rest) {
		t.Fatalf("decodeRelayHeader(% x) rest = % x, want a tail of the input", body, rest)
	}
	raw, err := encodeMessage(messageRelayType, hdr)
	if err != nil {
		t.Fatalf("encodeMessage(relay header %+v) error = %v", hdr, err)
	}
	again := append(raw[1:], rest...)
	hdr2, rest2, err := decodeRelayHeader(again)
	if err != nil {
		t.Fatalf("decodeRelayHeader(re-encoded % x) error = %v", again, err)
	}
	if !reflect.DeepEqual(hdr2, hdr) || !bytes.Equal(rest2, rest) {
		t.Fatalf("decodeRelayHeader(re-encoded) = %+v, % x, want %+v, % x", hdr2, rest2, hdr, rest)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, g := range goldenMessages() {
		f.Add(golden.Read(f, g.name))
	}
	for _, name := range []string{"relay_query_response", "conflict_response_unknown"} {
		f.Add(golden.Read(f, name))
	}
	f.Add([]byte{})
	f.Add([]byte{byte(messageRelayType)})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		typ, body := messageType(data[0]), data[1:]
		if typ == messageRelayType {
			checkRelayHeader(t, body)
			return
		}
		if fuzzMessageValue(typ) == nil {
			return
		}
		checkMessageRoundTrip(t, typ, body)
	})
}

// FuzzDecodePushPull fuzzes the push/pull body alone, the part of
// MergeRemoteState that reads untrusted bytes. (Fuzzing MergeRemoteState
// itself needs a running *Serf.)
func FuzzDecodePushPull(f *testing.F) {
	f.Add(golden.Read(f, "pushpull_lone")[1:])
	withEvents, err := encodeMessage(messagePushPullType, &messagePushPull{
		LTime:        9,
		StatusLTimes: map[string]LamportTime{"a": 3, "b": 0},
		LeftMembers:  []string{"b"},
		EventLTime:   4,
		Events: []*userEvents{
			nil,
			{LTime: 1, Events: []userEvent{{Name: "deploy", Payload: []byte("v1")}, {Name: "x"}}},
		},
		QueryLTime: 2,
	})
	if err != nil {
		f.Fatalf("encodeMessage(push/pull) error = %v", err)
	}
	f.Add(withEvents[1:])
	f.Fuzz(func(t *testing.T, body []byte) {
		checkMessageRoundTrip(t, messagePushPullType, body)
	})
}

func FuzzDecodeTags(f *testing.F) {
	f.Add(golden.Read(f, "tags_meta"))
	f.Add(golden.Read(f, "tags_empty"))
	f.Add([]byte("web"))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xc0})
	f.Add([]byte("\xff\x82\xa4role\xa3web\xa1a"))
	f.Fuzz(func(t *testing.T, meta []byte) {
		tags, err := decodeTags(meta)
		if tags == nil {
			t.Fatalf("decodeTags(% x) = nil map, want a map", meta)
		}
		if len(meta) == 0 || meta[0] != tagMagicByte {
			want := map[string]string{"role": string(meta)}
			if err != nil || !reflect.DeepEqual(tags, want) {
				t.Fatalf("decodeTags(% x) = %q, %v, want %q, nil", meta, tags, err, want)
			}
			return
		}
		if err != nil {
			return
		}
		again, err := encodeTags(5, tags)
		if err != nil {
			t.Fatalf("encodeTags(%q) error = %v", tags, err)
		}
		back, err := decodeTags(again)
		if err != nil || !reflect.DeepEqual(back, tags) {
			t.Fatalf("decodeTags(encodeTags(%q)) = %q, %v, want the same, nil", tags, back, err)
		}
	})
}

func FuzzDecodeRelayHeader(f *testing.F) {
	f.Add(golden.Read(f, "relay_header"))
	f.Add(golden.Read(f, "relay_query_response")[1:])
	f.Add([]byte{0xc0, 0x05, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkRelayHeader(t, body)
	})
}
