package serf

import (
	"bytes"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/golden"
)

// The golden fixtures in testdata/*.hex are byte captures of real Serf
// v0.11.0 and encodings made as it makes them (docs/wire.md, Gossip).
// They are hex text: "#" starts a comment that runs to the end of the line,
// whitespace is ignored.

// goldenMessage pairs a fixture with the message it holds. Only messages
// whose encoding is deterministic are here: structs, and maps with at
// most one key (go-msgpack writes maps in Go's random order).
type goldenMessage struct {
	name  string      // fixture name, also used in failure messages
	typ   messageType // its first byte
	value any         // pointer to the expected message
	fresh func() any  // a new zero value of value's type, to decode into
}

func goldenMessages() []goldenMessage {
	return []goldenMessage{
		{
			name:  "join",
			typ:   messageJoinType,
			value: &messageJoin{LTime: 5, Node: "n1"},
			fresh: func() any { return new(messageJoin) },
		},
		{
			name:  "leave",
			typ:   messageLeaveType,
			value: &messageLeave{LTime: 2, Node: "ghost"},
			fresh: func() any { return new(messageLeave) },
		},
		{
			name:  "leave_graceful",
			typ:   messageLeaveType,
			value: &messageLeave{LTime: 3, Node: "x1"},
			fresh: func() any { return new(messageLeave) },
		},
		{
			name:  "leave_prune",
			typ:   messageLeaveType,
			value: &messageLeave{LTime: 200, Node: "n1", Prune: true},
			fresh: func() any { return new(messageLeave) },
		},
		{
			name:  "user_event",
			typ:   messageUserEventType,
			value: &messageUserEvent{LTime: 1, Name: "evname", Payload: []byte("evpayload")},
			fresh: func() any { return new(messageUserEvent) },
		},
		{
			name:  "user_event_nopayload",
			typ:   messageUserEventType,
			value: &messageUserEvent{LTime: 1, Name: "evname"},
			fresh: func() any { return new(messageUserEvent) },
		},
		{
			name: "query",
			typ:  messageQueryType,
			value: &messageQuery{
				LTime:      1,
				ID:         0x748891e4,
				Addr:       []byte{127, 0, 0, 52},
				Port:       18052,
				SourceNode: "x1",
				Flags:      queryFlagAck,
				Timeout:    2 * time.Second,
				Name:       "qname",
				Payload:    []byte("qpay"),
			},
			fresh: func() any { return new(messageQuery) },
		},
		{
			name:  "query_response_ack",
			typ:   messageQueryResponseType,
			value: &messageQueryResponse{LTime: 1, ID: 7, From: "n2", Flags: queryFlagAck},
			fresh: func() any { return new(messageQueryResponse) },
		},
		{
			name: "pushpull_lone",
			typ:  messagePushPullType,
			value: &messagePushPull{
				LTime:        1,
				StatusLTimes: map[string]LamportTime{"x1": 0},
				LeftMembers:  []string{},
				EventLTime:   1,
				Events:       make([]*userEvents, 512),
				QueryLTime:   1,
			},
			fresh: func() any { return new(messagePushPull) },
		},
		{
			name: "conflict_response",
			typ:  messageConflictResponseType,
			value: &Member{
				Name:        "n1",
				Addr:        net.IP{127, 0, 0, 1},
				Port:        7946,
				Tags:        map[string]string{"role": "web"},
				Status:      StatusAlive,
				ProtocolMin: 1,
				ProtocolMax: 5,
				ProtocolCur: 2,
				DelegateMin: 2,
				DelegateMax: 5,
				DelegateCur: 5,
			},
			fresh: func() any { return new(Member) },
		},
		{
			name:  "key_request",
			typ:   messageKeyRequestType,
			value: &keyRequest{Key: []byte{1, 2}},
			fresh: func() any { return new(keyRequest) },
		},
		{
			name:  "key_request_empty",
			typ:   messageKeyRequestType,
			value: &keyRequest{Key: []byte{}},
			fresh: func() any { return new(keyRequest) },
		},
		{
			name:  "node_key_response",
			typ:   messageKeyResponseType,
			value: &nodeKeyResponse{Result: true},
			fresh: func() any { return new(nodeKeyResponse) },
		},
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldenMessages() {
		t.Run(g.name, func(t *testing.T) {
			want := golden.Read(t, g.name)
			got, err := encodeMessage(g.typ, g.value)
			if err != nil {
				t.Fatalf("encodeMessage(%s) error = %v", g.name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encodeMessage(%s) = % x, want % x", g.name, got, want)
			}
			// Callers pass values as well as pointers; the bytes must not care.
			byValue, err := encodeMessage(g.typ, reflect.ValueOf(g.value).Elem().Interface())
			if err != nil {
				t.Fatalf("encodeMessage(%s by value) error = %v", g.name, err)
			}
			if !bytes.Equal(byValue, want) {
				t.Errorf("encodeMessage(%s by value) = % x, want % x", g.name, byValue, want)
			}
		})
	}
}

// TestGoldenRoundTrip decodes every fixture to its message and encodes it
// back to the same bytes, and the message to the fixture's bytes and back.
func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range goldenMessages() {
		t.Run(g.name, func(t *testing.T) {
			raw := golden.Read(t, g.name)
			if messageType(raw[0]) != g.typ {
				t.Fatalf("%s type byte = %d, want %d", g.name, raw[0], g.typ)
			}

			// bytes -> struct -> bytes
			decoded := g.fresh()
			if err := decodeMessage(raw[1:], decoded); err != nil {
				t.Fatalf("decodeMessage(%s) error = %v", g.name, err)
			}
			if !reflect.DeepEqual(decoded, g.value) {
				t.Errorf("decodeMessage(%s) = %+v, want %+v", g.name, decoded, g.value)
			}
			again, err := encodeMessage(g.typ, decoded)
			if err != nil {
				t.Fatalf("encodeMessage(decoded %s) error = %v", g.name, err)
			}
			if !bytes.Equal(again, raw) {
				t.Errorf("encodeMessage(decodeMessage(%s)) = % x, want % x", g.name, again, raw)
			}

			// struct -> bytes -> struct
			enc, err := encodeMessage(g.typ, g.value)
			if err != nil {
				t.Fatalf("encodeMessage(%s) error = %v", g.name, err)
			}
			back := g.fresh()
			if err := decodeMessage(enc[1:], back); err != nil {
				t.Fatalf("decodeMessage(encodeMessage(%s)) error = %v", g.name, err)
			}
			if !reflect.DeepEqual(back, g.value) {
				t.Errorf("decodeMessage(encodeMessage(%s)) = %+v, want %+v", g.name, back, g.value)
			}
		})
	}
}

func TestGoldenPushPullLone(t *testing.T) {
	raw := golden.Read(t, "pushpull_lone")
	if len(raw) != 586 {
		t.Fatalf("len(pushpull_lone) = %d, want 586", len(raw))
	}
	var pp messagePushPull
	if err := decodeMessage(raw[1:], &pp); err != nil {
		t.Fatalf("decodeMessage(pushpull_lone) error = %v", err)
	}
	// The whole ring travels, empty slots included.
	if len(pp.Events) != 512 {
		t.Errorf("len(Events) = %d, want 512", len(pp.Events))
	}
	for i, e := range pp.Events {
		if e != nil {
			t.Errorf("Events[%d] = %+v, want nil", i, e)
		}
	}
	if pp.LeftMembers == nil {
		t.Errorf("LeftMembers = nil, want an empty non-nil slice (90 on the wire)")
	}
}

// TestEncodePushPullEvents checks a push/pull with buffered events: the
// map and struct nesting survive a round trip, and nil slots stay nil.
func TestEncodePushPullEvents(t *testing.T) {
	in := messagePushPull{
		LTime:        9,
		StatusLTimes: map[string]LamportTime{"a": 3, "b": 7, "c": 0},
		LeftMembers:  []string{"c"},
		EventLTime:   4,
		Events: []*userEvents{
			nil,
			{LTime: 1, Events: []userEvent{{Name: "deploy", Payload: []byte("v1")}}},
			nil,
			{LTime: 3, Events: []userEvent{{Name: "a"}, {Name: "b", Payload: []byte{}}}},
		},
		QueryLTime: 2,
	}
	raw, err := encodeMessage(messagePushPullType, &in)
	if err != nil {
		t.Fatalf("encodeMessage(push/pull) error = %v", err)
	}
	if raw[0] != byte(messagePushPullType) {
		t.Fatalf("encodeMessage(push/pull)[0] = %d, want %d", raw[0], messagePushPullType)
	}
	var out messagePushPull
	if err := decodeMessage(raw[1:], &out); err != nil {
		t.Fatalf("decodeMessage(push/pull) error = %v", err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("decodeMessage(encodeMessage(push/pull)) = %+v, want %+v", out, in)
	}
	// One userEvent, sorted keys: {Name, Payload}.
	one := []byte("\x82\xa4Name\xa6deploy\xa7Payload\xa2v1")
	if !bytes.Contains(raw, one) {
		t.Errorf("encodeMessage(push/pull) = % x, want it to contain % x", raw, one)
	}
}

func TestGoldenQueryFilters(t *testing.T) {
	nodeFilter := golden.Read(t, "filter_node")
	tagFilter := golden.Read(t, "filter_tag")

	got, err := encodeFilter(filterNodeType, filterNode{"probe"})
	if err != nil {
		t.Fatalf("encodeFilter(node) error = %v", err)
	}
	if !bytes.Equal(got, nodeFilter) {
		t.Errorf("encodeFilter(node) = % x, want % x", got, nodeFilter)
	}
	got, err = encodeFilter(filterTagType, &filterTag{Tag: "role", Expr: "x"})
	if err != nil {
		t.Fatalf("encodeFilter(tag) error = %v", err)
	}
	if !bytes.Equal(got, tagFilter) {
		t.Errorf("encodeFilter(tag) = % x, want % x", got, tagFilter)
	}

	var nodes filterNode
	if err := decodeMessage(nodeFilter[1:], &nodes); err != nil {
		t.Fatalf("decodeMessage(node filter) error = %v", err)
	}
	if want := (filterNode{"probe"}); !reflect.DeepEqual(nodes, want) {
		t.Errorf("decodeMessage(node filter) = %q, want %q", nodes, want)
	}
	var tag filterTag
	if err := decodeMessage(tagFilter[1:], &tag); err != nil {
		t.Fatalf("decodeMessage(tag filter) error = %v", err)
	}
	if want := (filterTag{Tag: "role", Expr: "x"}); tag != want {
		t.Errorf("decodeMessage(tag filter) = %+v, want %+v", tag, want)
	}

	// The query of `serf query -node=probe -tag role=x -relay-factor=1
	// -timeout=2s q2` was captured only in parts; its other fields are ours.
	q := messageQuery{
		LTime:       3,
		ID:          99,
		Addr:        []byte{127, 0, 0, 52},
		Port:        18052,
		SourceNode:  "x1",
		Filters:     [][]byte{nodeFilter, tagFilter},
		Flags:       queryFlagAck,
		RelayFactor: 1,
		Timeout:     2 * time.Second,
		Name:        "q2",
	}
	raw, err := encodeMessage(messageQueryType, &q)
	if err != nil {
		t.Fatalf("encodeMessage(query with filters) error = %v", err)
	}
	for _, part := range []string{"query_filters_filters", "query_filters_relayfactor", "query_filters_nopayload"} {
		want := golden.Read(t, part)
		if !bytes.Contains(raw, want) {
			t.Errorf("encodeMessage(query with filters) = % x, want it to contain %s % x", raw, part, want)
		}
	}
	var back messageQuery
	if err := decodeMessage(raw[1:], &back); err != nil {
		t.Fatalf("decodeMessage(query with filters) error = %v", err)
	}
	if !reflect.DeepEqual(back, q) {
		t.Errorf("decodeMessage(query with filters) = %+v, want %+v", back, q)
	}
}

func TestGoldenRelayHeader(t *testing.T) {
	want := golden.Read(t, "relay_header")
	hdr := relayHeader{
		DestAddr: net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 7946},
		DestName: "n1",
	}
	raw, err := encodeMessage(messageRelayType, hdr)
	if err != nil {
		t.Fatalf("encodeMessage(relay header) error = %v", err)
	}
	if got := raw[1:]; !bytes.Equal(got, want) {
		t.Errorf("encodeMessage(relay header) body = % x, want % x", got, want)
	}

	// The header is followed by the message to forward; whatever follows
	// comes back verbatim.
	inner := []byte{0x05, 0x80, 0xff}
	got, rest, err := decodeRelayHeader(append(append([]byte(nil), want...), inner...))
	if err != nil {
		t.Fatalf("decodeRelayHeader() error = %v", err)
	}
	if !reflect.DeepEqual(got, hdr) {
		t.Errorf("decodeRelayHeader() header = %+v, want %+v", got, hdr)
	}
	if !bytes.Equal(rest, inner) {
		t.Errorf("decodeRelayHeader() rest = % x, want % x", rest, inner)
	}

	// Nothing after the header: an empty rest, not an error.
	_, rest, err = decodeRelayHeader(want)
	if err != nil || len(rest) != 0 {
		t.Errorf("decodeRelayHeader(header only) = % x, %v, want empty, nil", rest, err)
	}

	if _, _, err := decodeRelayHeader(want[:len(want)-1]); err == nil {
		t.Errorf("decodeRelayHeader(truncated) error = nil, want an error")
	}
}

func TestGoldenRelayQueryResponse(t *testing.T) {
	want := golden.Read(t, "relay_query_response")
	ack := golden.Read(t, "query_response_ack")
	dest := net.UDPAddr{IP: net.IP{127, 0, 0, 1}, Port: 7946}
	resp := messageQueryResponse{LTime: 1, ID: 7, From: "n2", Flags: queryFlagAck}

	got, err := encodeRelayMessage(messageQueryResponseType, dest, "n1", &resp)
	if err != nil {
		t.Fatalf("encodeRelayMessage() error = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encodeRelayMessage() = % x, want % x", got, want)
	}

	hdr, inner, err := decodeRelayHeader(want[1:])
	if err != nil {
		t.Fatalf("decodeRelayHeader() error = %v", err)
	}
	if wantHdr := (relayHeader{DestAddr: dest, DestName: "n1"}); !reflect.DeepEqual(hdr, wantHdr) {
		t.Errorf("decodeRelayHeader() header = %+v, want %+v", hdr, wantHdr)
	}
	if !bytes.Equal(inner, ack) {
		t.Errorf("decodeRelayHeader() rest = % x, want % x", inner, ack)
	}
}

func TestGoldenConflictResponseUnknown(t *testing.T) {
	want := golden.Read(t, "conflict_response_unknown")
	got, err := encodeMessage(messageConflictResponseType, (*Member)(nil))
	if err != nil {
		t.Fatalf("encodeMessage(nil member) error = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encodeMessage(nil member) = % x, want % x", got, want)
	}
	var m *Member
	if err := decodeMessage(want[1:], &m); err != nil {
		t.Fatalf("decodeMessage(nil member) error = %v", err)
	}
	if m != nil {
		t.Errorf("decodeMessage(nil member) = %+v, want nil", m)
	}
}

// TestEncodeLegacyRawStrings checks the gossip handle's legacy raw family:
// a string or []byte of 32..65535 bytes is str16 (da), never str8 (d9) or
// bin (c4..c6), unlike RPC msgpack.
func TestEncodeLegacyRawStrings(t *testing.T) {
	long := strings.Repeat("n", 40)
	raw, err := encodeMessage(messageJoinType, &messageJoin{LTime: 1, Node: long})
	if err != nil {
		t.Fatalf("encodeMessage(join) error = %v", err)
	}
	want := append([]byte("\xa4Node\xda\x00\x28"), long...)
	if !bytes.HasSuffix(raw, want) {
		t.Errorf("encodeMessage(join) = % x, want it to end in % x", raw, want)
	}
	if bytes.IndexByte(raw, 0xd9) >= 0 {
		t.Errorf("encodeMessage(join) = % x, want no str8 (d9)", raw)
	}

	payload := bytes.Repeat([]byte{'p'}, 40)
	raw, err = encodeMessage(messageUserEventType, &messageUserEvent{LTime: 1, Name: "e", Payload: payload})
	if err != nil {
		t.Fatalf("encodeMessage(user event) error = %v", err)
	}
	want = append([]byte("\xa7Payload\xda\x00\x28"), payload...)
	if !bytes.HasSuffix(raw, want) {
		t.Errorf("encodeMessage(user event) = % x, want it to end in % x", raw, want)
	}
	for _, b := range []byte{0xc4, 0xc5, 0xc6, 0xd9} {
		if bytes.IndexByte(raw, b) >= 0 {
			t.Errorf("encodeMessage(user event) = % x, want no %x", raw, b)
		}
	}

	// Short []byte: fixstr, not bin8.
	raw, err = encodeMessage(messageUserEventType, &messageUserEvent{Name: "e", Payload: []byte("12345")})
	if err != nil {
		t.Fatalf("encodeMessage(user event) error = %v", err)
	}
	if want := []byte("\xa7Payload\xa512345"); !bytes.HasSuffix(raw, want) {
		t.Errorf("encodeMessage(user event) = % x, want it to end in % x", raw, want)
	}
}

// TestDecodeAcceptsNewStringTypes checks that, like Serf, we read str8 and
// bin where we write raw: a peer with another msgpack library may send them.
func TestDecodeAcceptsNewStringTypes(t *testing.T) {
	body := []byte("\x84\xa2CC\xc3\xa5LTime\x02\xa4Name\xd9\x02ev\xa7Payload\xc4\x03\x00\x01\x02")
	var got messageUserEvent
	if err := decodeMessage(body, &got); err != nil {
		t.Fatalf("decodeMessage(str8/bin user event) error = %v", err)
	}
	want := messageUserEvent{LTime: 2, Name: "ev", Payload: []byte{0, 1, 2}, CC: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeMessage(str8/bin user event) = %+v, want %+v", got, want)
	}
}

// TestDecodeTolerantMaps checks the decoding rules of docs/wire.md,
// "Gossip encoding": unknown keys are skipped, missing keys are zero, keys
// are case-sensitive.
func TestDecodeTolerantMaps(t *testing.T) {
	body := []byte("\x83\xa4Node\xa2n1\xa5Extra\x92\x01\xa1x\xa5ltime\x07")
	var got messageJoin
	if err := decodeMessage(body, &got); err != nil {
		t.Fatalf("decodeMessage(join with unknown keys) error = %v", err)
	}
	if want := (messageJoin{Node: "n1"}); got != want {
		t.Errorf("decodeMessage(join with unknown keys) = %+v, want %+v", got, want)
	}
}

// TestDecodeArrayForm checks that array-form structs decode by position,
// which holds only while the fields are declared in Serf's order.
func TestDecodeArrayForm(t *testing.T) {
	var leave messageLeave
	if err := decodeMessage([]byte("\x93\x02\xa5ghost\xc3"), &leave); err != nil {
		t.Fatalf("decodeMessage(array leave) error = %v", err)
	}
	if want := (messageLeave{LTime: 2, Node: "ghost", Prune: true}); leave != want {
		t.Errorf("decodeMessage(array leave) = %+v, want %+v", leave, want)
	}

	// LTime, ID, Addr, Port, SourceNode, Filters, Flags, RelayFactor,
	// Timeout, Name, Payload.
	body := []byte("\x9b\x01\x07\xa4\x7f\x00\x00\x01\xcd\x1f\x0a\xa2x1\xc0\x01\x02\x05\xa1q\xa1p")
	var q messageQuery
	if err := decodeMessage(body, &q); err != nil {
		t.Fatalf("decodeMessage(array query) error = %v", err)
	}
	want := messageQuery{
		LTime: 1, ID: 7, Addr: []byte{127, 0, 0, 1}, Port: 7946, SourceNode: "x1",
		Flags: 1, RelayFactor: 2, Timeout: 5, Name: "q", Payload: []byte("p"),
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("decodeMessage(array query) = %+v, want %+v", q, want)
	}
}

func TestDecodeGarbage(t *testing.T) {
	for _, body := range [][]byte{
		nil,
		{0x82, 0xa5},                  // truncated key
		{0x81, 0xc1, 0x01},            // c1 is never used
		[]byte("\x81\xa5LTime\xa2n1"), // a string for a uint64
	} {
		var j messageJoin
		if err := decodeMessage(body, &j); err == nil {
			t.Errorf("decodeMessage(% x) = %+v, nil, want an error", body, j)
		}
	}
}

// TestDecodeHugeLengthsFailFast checks that a length prefix far beyond
// the input (a peer's garbage or malice) fails without allocating it.
func TestDecodeHugeLengthsFailFast(t *testing.T) {
	for _, body := range []string{
		"\x81\xa6Events\xdd\x7f\xff\xff\xff",          // array32
		"\x81\xacStatusLTimes\xdf\x7f\xff\xff\xff",    // map32
		"\x81\xabLeftMembers\x91\xdb\x7f\xff\xff\xff", // str32
		"\x81\xa5Extra\xc9\x7f\xff\xff\xff\x01",       // ext32, skipped
		"\x81\xa5Extra\xc6\x7f\xff\xff\xff",           // bin32, skipped
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var pp messagePushPull
		err := decodeMessage([]byte(body), &pp)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("decodeMessage(% x) error = nil, want an error", body)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("decodeMessage(% x) allocated %d bytes, want under 16 MiB", body, grew)
		}
	}
}

// TestEncodeWireNumbers pins the numbers that are on the wire.
func TestEncodeWireNumbers(t *testing.T) {
	types := []struct {
		got  messageType
		want uint8
	}{
		{messageLeaveType, 0},
		{messageJoinType, 1},
		{messagePushPullType, 2},
		{messageUserEventType, 3},
		{messageQueryType, 4},
		{messageQueryResponseType, 5},
		{messageConflictResponseType, 6},
		{messageKeyRequestType, 7},
		{messageKeyResponseType, 8},
		{messageRelayType, 9},
	}
	for _, tt := range types {
		if uint8(tt.got) != tt.want {
			t.Errorf("message type = %d, want %d", tt.got, tt.want)
		}
	}
	if queryFlagAck != 1 || queryFlagNoBroadcast != 2 {
		t.Errorf("query flags = %d, %d, want 1, 2", queryFlagAck, queryFlagNoBroadcast)
	}
	if filterNodeType != 0 || filterTagType != 1 {
		t.Errorf("filter types = %d, %d, want 0, 1", filterNodeType, filterTagType)
	}

	q := messageQuery{Flags: queryFlagAck | queryFlagNoBroadcast}
	if !q.ack() || !q.noBroadcast() {
		t.Errorf("query{Flags: 3}.ack(), noBroadcast() = %v, %v, want true, true", q.ack(), q.noBroadcast())
	}
	q.Flags = 0
	if q.ack() || q.noBroadcast() {
		t.Errorf("query{Flags: 0}.ack(), noBroadcast() = %v, %v, want false, false", q.ack(), q.noBroadcast())
	}
	r := messageQueryResponse{Flags: queryFlagAck}
	if !r.ack() {
		t.Errorf("response{Flags: 1}.ack() = false, want true")
	}
}

func TestEncodeUserEventEqual(t *testing.T) {
	a := userEvent{Name: "x", Payload: []byte("p")}
	for _, tt := range []struct {
		b    userEvent
		want bool
	}{
		{userEvent{Name: "x", Payload: []byte("p")}, true},
		{userEvent{Name: "y", Payload: []byte("p")}, false},
		{userEvent{Name: "x", Payload: []byte("q")}, false},
		{userEvent{Name: "x"}, false},
	} {
		if got := a.equal(tt.b); got != tt.want {
			t.Errorf("%+v.equal(%+v) = %v, want %v", a, tt.b, got, tt.want)
		}
	}
	// A nil and an empty payload are the same event: both mean "none".
	if !(userEvent{Name: "x"}).equal(userEvent{Name: "x", Payload: []byte{}}) {
		t.Errorf("equal(nil payload, empty payload) = false, want true")
	}
}
