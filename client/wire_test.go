package client

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/golden"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// The golden fixtures in testdata/*.hex are RPC frames: the exchange
// with a real v0.11.0 agent in docs/wire.md ("Example exchange"), and a
// few more records built by the same rules. The interop tests replay the
// exchange against real agents byte for byte. They are hex text: "#" starts
// a comment that runs to the end of the line, whitespace is ignored.

// encodeFrame encodes values back to back with the RPC handle.
func encodeFrame(tb testing.TB, values ...any) []byte {
	tb.Helper()
	var buf []byte
	enc := codec.NewEncoderBytes(&buf, NewCodecHandle())
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			tb.Fatalf("encode %T: %v", v, err)
		}
	}
	return buf
}

// goldenFrames maps each fixture to the records it holds, in order.
var goldenFrames = map[string][]any{
	"handshake_header_seq0": {&RequestHeader{Command: HandshakeCommand, Seq: 0}},
	"handshake_request": {
		&RequestHeader{Command: HandshakeCommand, Seq: 1},
		&HandshakeRequest{Version: MaxIPCVersion},
	},
	"handshake_reply": {&ResponseHeader{Seq: 1}},
	"members_request": {&RequestHeader{Command: MembersCommand, Seq: 2}},
	"members_reply": {
		&ResponseHeader{Seq: 2},
		&MembersResponse{Members: []Member{{
			Name:        "p1",
			Addr:        net.IP{127, 0, 0, 31},
			Port:        18031,
			Tags:        map[string]string{"role": "web"},
			Status:      "alive",
			ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
			DelegateMin: 2, DelegateMax: 5, DelegateCur: 5,
		}}},
	},
	"get_coordinate_request": {
		&RequestHeader{Command: GetCoordinateCommand, Seq: 3},
		&CoordinateRequest{Node: "zz"},
	},
	"get_coordinate_reply": {&ResponseHeader{Seq: 3}, &CoordinateResponse{}},
	"stream_request": {
		&RequestHeader{Command: StreamCommand, Seq: 4},
		&StreamRequest{Type: "foo"},
	},
	"stream_reply_invalid_filter": {&ResponseHeader{Seq: 4, Error: string(ErrInvalidFilter)}},
	"stream_reply_exists":         {&ResponseHeader{Seq: 4, Error: string(ErrStreamExists)}},
	"bogus_request":               {&RequestHeader{Command: "bogus", Seq: 5}},
	"bogus_reply":                 {&ResponseHeader{Seq: 5, Error: string(ErrUnsupportedCommand)}},
	"auth_required_reply":         {&ResponseHeader{Seq: 5, Error: string(ErrAuthRequired)}},
	"event_request": {
		&RequestHeader{Command: EventCommand, Seq: 6},
		&EventRequest{Name: "deploy", Payload: []byte("v1"), Coalesce: true},
	},
	"query_record_ack": {
		&ResponseHeader{Seq: 7},
		&QueryRecord{Type: QueryRecordAck, From: "n1"},
	},
	"query_record_response": {
		&ResponseHeader{Seq: 7},
		&QueryRecord{Type: QueryRecordResponse, From: "n1", Payload: []byte("hi\n")},
	},
	"query_record_done": {
		&ResponseHeader{Seq: 7},
		&QueryRecord{Type: QueryRecordDone},
	},
	"user_event_record": {
		&ResponseHeader{Seq: 8},
		&UserEventRecord{Event: "user", LTime: 3, Name: "deploy", Payload: []byte("v1")},
	},
	"log_record": {&ResponseHeader{Seq: 9}, &LogRecord{Log: "hi"}},
}

// TestGoldenEncode checks that our handle writes every fixture's records
// byte for byte.
func TestGoldenEncode(t *testing.T) {
	for name, values := range goldenFrames {
		t.Run(name, func(t *testing.T) {
			want := golden.Read(t, name)
			if got := encodeFrame(t, values...); !bytes.Equal(got, want) {
				t.Errorf("encode = % x\nwant     % x", got, want)
			}
		})
	}
}

// TestGoldenDecode checks that every fixture decodes to its records and
// nothing is left over.
func TestGoldenDecode(t *testing.T) {
	for name, values := range goldenFrames {
		t.Run(name, func(t *testing.T) {
			r := bytes.NewReader(golden.Read(t, name))
			dec := codec.NewDecoder(r, NewCodecHandle())
			for _, want := range values {
				got := reflect.New(reflect.TypeOf(want).Elem()).Interface()
				if err := dec.Decode(got); err != nil {
					t.Fatalf("decode %T: %v", want, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("decode = %+v, want %+v", got, want)
				}
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes left after decoding, want 0", r.Len())
			}
		})
	}
}

// TestGoldenFixturesUsed catches a fixture file without a table entry.
func TestGoldenFixturesUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		if _, ok := goldenFrames[name]; !ok {
			t.Errorf("testdata/%s.hex has no entry in goldenFrames", name)
		}
	}
	if len(files) != len(goldenFrames) {
		t.Errorf("%d fixture files, want %d", len(files), len(goldenFrames))
	}
}

// TestWireEncodingRules spells out the integer and nil rules of
// docs/wire.md, "RPC encoding", on records where they show.
func TestWireEncodingRules(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // hex of the whole encoding
	}{
		{"negative int32 is a negative fixint", &JoinResponse{Num: -1}, "81 a3 4e 75 6d ff"},
		{"int32 above 127 is int16, never uint", &JoinResponse{Num: 200}, "81 a3 4e 75 6d d1 00 c8"},
		{"uint64 above 255 is uint16", &StopRequest{Stop: 300}, "81 a4 53 74 6f 70 cd 01 2c"},
		{"Duration is int64 nanoseconds, smallest signed form", &QueryRequest{Timeout: 1500000000},
			"87 ab 46 69 6c 74 65 72 4e 6f 64 65 73 c0 aa 46 69 6c 74 65 72 54 61 67 73 c0" +
				" a4 4e 61 6d 65 a0 a7 50 61 79 6c 6f 61 64 c0 ab 52 65 6c 61 79 46 61 63 74 6f 72 00" +
				" aa 52 65 71 75 65 73 74 41 63 6b c2 a7 54 69 6d 65 6f 75 74 d2 59 68 2f 00"},
		{"nil slices and maps are nil", &TagsRequest{}, "82 aa 44 65 6c 65 74 65 54 61 67 73 c0 a4 54 61 67 73 c0"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("% x", encodeFrame(t, tt.value)); got != tt.want {
			t.Errorf("%s: encode %T = %s, want %s", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestReplyHasBody(t *testing.T) {
	withBody := map[string]bool{
		JoinCommand: true, MembersCommand: true, MembersFilteredCommand: true,
		InstallKeyCommand: true, UseKeyCommand: true, RemoveKeyCommand: true,
		ListKeysCommand: true, StatsCommand: true, GetCoordinateCommand: true,
	}
	all := []string{
		HandshakeCommand, AuthCommand, EventCommand, ForceLeaveCommand, JoinCommand,
		MembersCommand, MembersFilteredCommand, TagsCommand, StreamCommand,
		MonitorCommand, StopCommand, LeaveCommand, QueryCommand, RespondCommand,
		InstallKeyCommand, UseKeyCommand, RemoveKeyCommand, ListKeysCommand,
		StatsCommand, GetCoordinateCommand,
	}
	for _, cmd := range all {
		if got := replyHasBody(cmd, ""); got != withBody[cmd] {
			t.Errorf("replyHasBody(%q, \"\") = %v, want %v", cmd, got, withBody[cmd])
		}
		// The agent sends join and key bodies along with their errors.
		if got := replyHasBody(cmd, "1/2 nodes reported failure"); got != withBody[cmd] {
			t.Errorf("replyHasBody(%q, error) = %v, want %v", cmd, got, withBody[cmd])
		}
		for _, gate := range []RemoteError{ErrAuthRequired, ErrHandshakeRequired, ErrUnsupportedCommand} {
			if replyHasBody(cmd, string(gate)) {
				t.Errorf("replyHasBody(%q, %q) = true, want false", cmd, gate)
			}
		}
	}
}

func TestRemoteError(t *testing.T) {
	err := remoteError("Invalid authentication token")
	if err.Error() != "Invalid authentication token" {
		t.Errorf("Error() = %q, want the agent's string", err.Error())
	}
	if !errors.Is(err, ErrInvalidAuthToken) {
		t.Errorf("errors.Is(%v, ErrInvalidAuthToken) = false, want true", err)
	}
	if remoteError("") != nil {
		t.Errorf("remoteError(\"\") = non-nil, want nil")
	}
	if got, want := UnknownLogLevelError("FOO").Error(), "Unknown log level: FOO"; got != want {
		t.Errorf("UnknownLogLevelError(FOO) = %q, want %q", got, want)
	}
}
