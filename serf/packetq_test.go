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
