//go:build linux

package netem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"syscall"
	"testing"

	"github.com/openserf/serf/internal/testutil/golden"
)

// fixtures lists every golden fixture in testdata; all seed the fuzzer.
var fixtures = []string{
	"ack", "batch", "bind_eperm", "bind_request", "packet_meta", "verdict_enoent", "verdict_request",
}

// littleEndian skips the test on big-endian hosts: netlink headers are in
// the host's byte order and the fixtures were captured on amd64.
func littleEndian(tb testing.TB) {
	tb.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		tb.Skip("the fixtures hold little-endian netlink headers")
	}
}

func TestAppendBind(t *testing.T) {
	littleEndian(t)
	got := appendBind(nil, 1, 7, 65536)
	if want := golden.Read(t, "bind_request"); !bytes.Equal(got, want) {
		t.Errorf("appendBind() = % x, want % x", got, want)
	}
}

func TestAppendVerdict(t *testing.T) {
	littleEndian(t)
	got := appendVerdict(nil, 7, 1001, verdictAccept)
	if want := golden.Read(t, "verdict_request"); !bytes.Equal(got, want) {
		t.Errorf("appendVerdict() = % x, want % x", got, want)
	}
	if len(got) != verdictMsgLen {
		t.Errorf("len(appendVerdict()) = %d, want verdictMsgLen %d", len(got), verdictMsgLen)
	}
	// Verdicts are written several to a buffer, each right after the last.
	two := appendVerdict(appendVerdict(nil, 7, 1, verdictDrop), 7, 2, verdictAccept)
	msgs, err := parseMessages(two, nil)
	if err != nil || len(msgs) != 2 {
		t.Errorf("parseMessages(two verdicts) = %+v, %v; want 2 messages", msgs, err)
	}
}

func TestParseMessages(t *testing.T) {
	littleEndian(t)
	for _, tt := range []struct {
		fixture string
		want    []message
	}{
		{"ack", []message{{Type: nlmsgError, Flags: 0x100, Seq: 1}}},
		{"bind_eperm", []message{{Type: nlmsgError, Seq: 1, Errno: syscall.EPERM}}},
		{"verdict_enoent", []message{{Type: nlmsgError, Errno: syscall.ENOENT}}},
		{"packet_meta", []message{{
			Type: packetMsgType, Queue: 7,
			Packet: packetHeader{ID: 1, HWProtocol: 0x0800, Hook: 3},
		}}},
		{"batch", []message{
			{Type: packetMsgType, Queue: 9, Packet: packetHeader{ID: 0xfffffffe, HWProtocol: 0x86dd, Hook: 4}},
			{Type: nlmsgError, Flags: 0x100, Seq: 2},
		}},
		// Our own requests parse too, as messages of no interest.
		{"bind_request", []message{{Type: msgType(nfqnlMsgConfig), Flags: nlmFRequest | nlmFAck, Seq: 1}}},
		{"verdict_request", []message{{Type: msgType(nfqnlMsgVerdict), Flags: nlmFRequest}}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := parseMessages(golden.Read(t, tt.fixture), nil)
			if err != nil {
				t.Fatalf("parseMessages() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseMessages() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMessagesMalformed(t *testing.T) {
	littleEndian(t)
	packet := golden.Read(t, "packet_meta")
	ack := golden.Read(t, "ack")
	set := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.NativeEndian.PutUint32(b[at:], v)
		return b
	}
	set16 := func(b []byte, at int, v uint16) []byte {
		b = bytes.Clone(b)
		binary.NativeEndian.PutUint16(b[at:], v)
		return b
	}
	for _, tt := range []struct {
		name string
		b    []byte
		good int // messages parsed before the fault
	}{
		{"short header", packet[:15], 0},
		{"length past the end", packet[:40], 0},
		{"length below the header", set(packet, 0, 15), 0},
		{"trailing bytes", append(bytes.Clone(ack), 1, 2, 3), 1},
		{"error without code", set(ack, 0, 18)[:18], 0},
		{"positive error code", set(ack, 16, 1), 0},
		{"error code out of range", set(ack, 16, 0xffff0000), 0},
		{"packet without nfgenmsg", set(packet, 0, 18)[:18], 0},
		{"packet without header attribute", set(packet, 0, 20)[:20], 0},
		{"attribute shorter than its header", set16(packet, 20, 3), 0},
		{"attribute past the end", set16(packet, 20, 200), 0},
		{"truncated packet header", set16(packet, 20, 10), 0},
		{"trailing attribute bytes", set(packet, 0, 42)[:42], 0},
		{"ack then garbage", append(bytes.Clone(ack), packet[:20]...), 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMessages(tt.b, nil)
			if !errors.Is(err, errMalformed) {
				t.Errorf("parseMessages() error = %v, want errMalformed", err)
			}
			if len(got) != tt.good {
				t.Errorf("parseMessages() = %+v, want %d messages", got, tt.good)
			}
		})
	}
}

func FuzzParseMessages(f *testing.F) {
	for _, name := range fixtures {
		f.Add(golden.Read(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := parseMessages(b, nil)
		if err != nil && !errors.Is(err, errMalformed) {
			t.Fatalf("parseMessages() error = %v, want nil or errMalformed", err)
		}
		if len(msgs) > len(b)/nlmsgHeaderLen {
			t.Fatalf("parseMessages() = %d messages from %d bytes", len(msgs), len(b))
		}
		if err != nil || len(b)%4 != 0 {
			return
		}
		// Well-formed, aligned datagrams concatenate: twice the bytes
		// are twice the messages.
		twice, err := parseMessages(append(bytes.Clone(b), b...), nil)
		if err != nil {
			t.Fatalf("parseMessages(b+b) error = %v, want nil", err)
		}
		if !reflect.DeepEqual(twice, append(msgs, msgs...)) {
			t.Fatalf("parseMessages(b+b) = %+v, want %+v twice", twice, msgs)
		}
	})
}
