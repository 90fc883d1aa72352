package serf

import (
	"encoding/binary"
	"testing"

	"github.com/hashicorp/memberlist"
)

// compound builds memberlist's compound message of parts.
func compound(parts ...[]byte) []byte {
	out := []byte{mlCompoundMsg, byte(len(parts))}
	for _, p := range parts {
		out = binary.BigEndian.AppendUint16(out, uint16(len(p)))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestPacketUrgency(t *testing.T) {
	ack := []byte{mlAckRespMsg, 0x82}
	ping := []byte{mlPingMsg, 0x83}
	gossip := []byte{8, 'x'}
	cases := []struct {
		name string
		pkt  []byte
		want int
	}{
		{"empty", nil, urgentNone},
		{"ack", ack, urgentReply},
		{"nack", []byte{mlNackRespMsg}, urgentReply},
		{"ping", ping, urgentProbe},
		{"indirect ping", []byte{mlIndirectPingMsg}, urgentProbe},
		{"user message", gossip, urgentNone},
		{"checksummed ack", withCRC(ack), urgentReply},
		{"ack with gossip piggybacked", compound(ack, gossip, gossip), urgentReply},
		{"gossip then a ping", compound(gossip, ping), urgentProbe},
		{"ping and ack", compound(ping, ack), urgentReply},
		{"gossip only", compound(gossip, gossip), urgentNone},
		{"alive", []byte{mlAliveMsg, 0x85}, urgentAlive},
		{"gossip with an alive", compound(gossip, []byte{mlAliveMsg, 0x85}), urgentAlive},
		{"alive and a ping", compound([]byte{mlAliveMsg, 0x85}, ping), urgentProbe},
		{"suspect and dead", compound([]byte{mlSuspectMsg, 0x83}, []byte{mlDeadMsg, 0x83}), urgentNone},
		{"compound cut short", compound(gossip, ack)[:8], urgentNone},
		{"compound lengths cut", []byte{mlCompoundMsg, 3, 0}, urgentNone},
		{"compound without a count", []byte{mlCompoundMsg}, urgentNone},
	}
	for _, c := range cases {
		if got := urgency(c.pkt); got != c.want {
			t.Errorf("%s: urgency %d, want %d", c.name, got, c.want)
		}
	}
}

// TestPacketQueueOrder: the most urgent packet goes first, each queue in
// the order its packets came, and the queues hold no more than their
// bound.
func TestPacketQueueOrder(t *testing.T) {
	q := newPacketQueue()
	pkt := func(tag byte) *memberlist.Packet { return &memberlist.Packet{Buf: []byte{tag}} }
	for _, p := range []struct {
		tag byte
		u   int
	}{{'g', urgentNone}, {'p', urgentProbe}, {'l', urgentAlive}, {'h', urgentNone}, {'a', urgentReply}, {'q', urgentProbe}, {'b', urgentReply}} {
		if !q.push(pkt(p.tag), p.u) {
			t.Fatalf("push %c refused", p.tag)
		}
	}
	var order []byte
	for p := q.pop(); p != nil; p = q.pop() {
		order = append(order, p.Buf[0])
	}
	if string(order) != "abpqlgh" {
		t.Fatalf("delivered %q, want \"abpqlgh\"", order)
	}
	if q.bytes != 0 {
		t.Fatalf("%d bytes still counted", q.bytes)
	}

	big := &memberlist.Packet{Buf: make([]byte, packetQueueBytes/2)}
	for i := range 2 {
		if !q.push(big, urgentNone) {
			t.Fatalf("queues refused half their bound (%d)", i)
		}
	}
	if q.push(pkt('x'), urgentReply) {
		t.Fatal("queues took a packet beyond their bound")
	}
	q.pop()
	if !q.push(pkt('x'), urgentReply) {
		t.Fatal("queues refused a packet after room was made")
	}
}

// TestSplitUrgent: a compound message with an urgent part is split into
// its messages; anything else goes whole, and memberlist gets a packet
// it must warn about as it came.
func TestSplitUrgent(t *testing.T) {
	ack := []byte{mlAckRespMsg, 0x82}
	ping := []byte{mlPingMsg, 0x83}
	dead := []byte{mlDeadMsg, 0x83}
	gossip := []byte{8, 'x'}
	badCRC := withCRC(compound(ack, gossip))
	badCRC[1] ^= 0xff
	cases := []struct {
		name string
		pkt  []byte
		want []packetPart
	}{
		{"ack", ack, []packetPart{{ack, urgentReply, nil}}},
		{"user message", gossip, []packetPart{{gossip, urgentNone, nil}}},
		{"gossip only", compound(gossip, dead), []packetPart{{compound(gossip, dead), urgentNone, nil}}},
		{"ping with a dead piggybacked", compound(ping, dead), []packetPart{{ping, urgentProbe, nil}, {dead, urgentNone, nil}}},
		{"ack with gossip", compound(gossip, ack, gossip), []packetPart{{gossip, urgentNone, nil}, {ack, urgentReply, nil}, {gossip, urgentNone, nil}}},
		{"checksummed", withCRC(compound(ack, dead)), []packetPart{{ack, urgentReply, nil}, {dead, urgentNone, nil}}},
		{"checksum wrong", badCRC, []packetPart{{badCRC, urgentNone, nil}}},
		{"cut short", compound(ack, gossip)[:7], []packetPart{{compound(ack, gossip)[:7], urgentNone, nil}}},
	}
	for _, c := range cases {
		got := splitUrgent(c.pkt)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d parts %v, want %v", c.name, len(got), got, c.want)
			continue
		}
		for i := range got {
			if string(got[i].buf) != string(c.want[i].buf) || got[i].urgency != c.want[i].urgency {
				t.Errorf("%s: part %d is %x (urgency %d), want %x (%d)", c.name, i, got[i].buf, got[i].urgency, c.want[i].buf, c.want[i].urgency)
			}
		}
	}
}

// TestLeaveIntentBeforeDead: a member's leave intent, gossiped before
// the dead message that memberlist piggybacks on its next ping, still
// reaches memberlist before that dead message, so the member is seen
// left and not failed; only the ping goes ahead.
func TestLeaveIntentBeforeDead(t *testing.T) {
	q := newPacketQueue()
	intent := []byte{8, 'l', 'e', 'a', 'v', 'e'}
	ping := []byte{mlPingMsg, 0x83}
	dead := []byte{mlDeadMsg, 0x83}
	for _, pkt := range [][]byte{intent, compound(ping, dead)} {
		for _, part := range splitUrgent(pkt) {
			q.push(&memberlist.Packet{Buf: part.buf}, part.urgency)
		}
	}
	var order []byte
	for p := q.pop(); p != nil; p = q.pop() {
		order = append(order, p.Buf[0])
	}
	if want := []byte{mlPingMsg, 8, mlDeadMsg}; string(order) != string(want) {
		t.Fatalf("memberlist gets message types %v, want %v", order, want)
	}
}
