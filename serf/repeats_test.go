package serf

import (
	"bytes"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// serfMsg is memberlist's user message holding a Serf message.
func serfMsg(t testing.TB, body any) []byte {
	t.Helper()
	b, err := encodeMessage(messageJoinType, body)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{mlUserMsg}, b...)
}

// TestRepeatsKey: only alive messages and Serf's messages are kept, and
// never one that names this node.
func TestRepeatsKey(t *testing.T) {
	g := newGossipRepeats("self")
	cases := []struct {
		name string
		msg  []byte
		want bool
	}{
		{"alive about another", aliveMsg(t, 3, "peer"), true},
		{"alive about this node", aliveMsg(t, 3, "self"), false},
		{"join intent of another", serfMsg(t, &messageJoin{LTime: 4, Node: "peer"}), true},
		{"join intent of this node", serfMsg(t, &messageJoin{LTime: 4, Node: "self"}), false},
		{"suspect", accusationMsg(t, mlSuspectMsg, 3, "peer", "other"), false},
		{"dead", accusationMsg(t, mlDeadMsg, 3, "peer", "peer"), false},
		{"ping", []byte{mlPingMsg, 0x83}, false},
		{"ack", []byte{mlAckRespMsg, 0x82}, false},
		{"type byte alone", []byte{mlAliveMsg}, false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		if _, got := g.key(c.msg); got != c.want {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
	// A longer name is matched as encoded, not as a substring of another.
	if _, ok := newGossipRepeats("pee").key(aliveMsg(t, 1, "peer")); !ok {
		t.Error(`a node named "pee" kept no alive message about "peer"`)
	}
}

// split runs splitPacket and records what it would queue, as readLoop
// does.
func split(g *gossipRepeats, pkt []byte, now time.Time) []packetPart {
	parts := splitPacket(pkt, g)
	for _, p := range parts {
		for _, k := range p.keys {
			g.add(k, now)
		}
	}
	return parts
}

func bufsOf(parts []packetPart) []string {
	var out []string
	for _, p := range parts {
		out = append(out, fmt.Sprintf("%x", p.buf))
	}
	return out
}

// TestSplitPacketDropsRepeats: a copy of what was handed on before is
// left out of the packet; everything else goes on as splitUrgent sends
// it.
func TestSplitPacketDropsRepeats(t *testing.T) {
	now := time.Unix(1000, 0)
	ping := []byte{mlPingMsg, 0x83}
	dead := accusationMsg(t, mlDeadMsg, 3, "gone", "other")
	a1, a2 := aliveMsg(t, 1, "peer"), aliveMsg(t, 2, "peer")
	j1 := serfMsg(t, &messageJoin{LTime: 9, Node: "peer"})
	own := aliveMsg(t, 7, "self")

	g := newGossipRepeats("self")
	g.tick(now)
	steps := []struct {
		name string
		pkt  []byte
		want [][]byte
	}{
		{"first alive", a1, [][]byte{a1}},
		{"its copy", a1, nil},
		{"its copy, checksummed", withCRC(a1), nil},
		{"a newer incarnation", a2, [][]byte{a2}},
		{"gossip first seen goes whole", compound(j1, dead), [][]byte{compound(j1, dead)}},
		{"its copy loses the repeat", compound(j1, dead), [][]byte{dead}},
		{"ping with repeats", compound(ping, a1, j1, a2), [][]byte{ping}},
		{"nothing new at all", compound(a1, j1), nil},
		{"this node's alive, twice", compound(own, own), [][]byte{own, own}},
		{"and again", own, [][]byte{own}},
	}
	for _, s := range steps {
		got := bufsOf(split(g, s.pkt, now))
		want := bufsOf(nil)
		for _, w := range s.want {
			want = append(want, fmt.Sprintf("%x", w))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: queued %v, want %v", s.name, got, want)
		}
	}
	if n := g.dropped.Load(); n != 8 {
		t.Errorf("dropped %d copies, want 8", n)
	}

	// A packet memberlist must see as it came goes whole, repeats and
	// all.
	badCRC := withCRC(compound(a1, j1))
	badCRC[1] ^= 0xff
	cut := compound(a1, j1)
	cut = cut[:len(cut)-1]
	for name, pkt := range map[string][]byte{"checksum wrong": badCRC, "cut short": cut} {
		if got := splitPacket(pkt, g); len(got) != 1 || !bytes.Equal(got[0].buf, pkt) {
			t.Errorf("%s: queued %v, want it whole", name, bufsOf(got))
		}
	}
}

// TestRepeatsWindow: a hash is kept for one window at least and two at
// most, and a window that fills up gives way to the next early.
func TestRepeatsWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	g := newGossipRepeats("self")
	g.tick(t0)
	g.add(1, t0)
	for _, c := range []struct {
		after time.Duration
		seen  bool
	}{
		{repeatWindow - time.Millisecond, true},
		{repeatWindow, true},                       // in the last window now
		{2*repeatWindow - time.Millisecond, true},  // still the last
		{2 * repeatWindow, false},                  // two windows on
		{4*repeatWindow + time.Millisecond, false}, // a long quiet
	} {
		g.tick(t0.Add(c.after))
		if got := g.seen(1); got != c.seen {
			t.Errorf("after %v: seen %v, want %v", c.after, got, c.seen)
		}
	}

	g = newGossipRepeats("self")
	g.tick(t0)
	for k := range uint64(repeatsKept + 1) {
		g.add(k+10, t0)
	}
	if !g.seen(10) || !g.seen(repeatsKept+10) {
		t.Error("a full window lost its hashes when the next began")
	}
	if len(g.cur) != 1 || len(g.prev) != repeatsKept {
		t.Errorf("windows of %d and %d hashes, want 1 and %d", len(g.cur), len(g.prev), repeatsKept)
	}
}

// TestTransportDropsRepeats: the transport hands memberlist an alive
// message once, however often it comes.
func TestTransportDropsRepeats(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1", 0)
	b := newTestTransport(t, "127.0.0.1", 0)
	b.sorts.Store(true)
	b.repeats.Store(newGossipRepeats("b"))
	first, second := aliveMsg(t, 1, "peer"), aliveMsg(t, 2, "peer")
	for _, pkt := range [][]byte{first, first, withCRC(first), second} {
		if _, err := a.WriteToAddress(pkt, memberlist.Address{Addr: transportAddr(b), Name: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if p := recvPacket(t, b); !bytes.Equal(p.Buf, first) {
		t.Fatalf("first packet %x, want %x", p.Buf, first)
	}
	if p := recvPacket(t, b); !bytes.Equal(p.Buf, second) {
		t.Fatalf("next packet %x, want the newer alive %x", p.Buf, second)
	}
	if n := b.repeats.Load().dropped.Load(); n != 2 {
		t.Errorf("dropped %d copies, want 2", n)
	}
}

// TestTapQueueDrops: memberlist's lines reach the logger it would have
// used unchanged, and each line of a dropped message is reported.
func TestTapQueueDrops(t *testing.T) {
	var want, got bytes.Buffer
	base := log.New(&got, "node ", log.Lmsgprefix)
	conf := memberlist.DefaultLANConfig()
	conf.Logger = base
	drops := 0
	tapped := tapQueueDrops(conf, func() { drops++ })
	if tapped == conf || conf.Logger != base {
		t.Fatal("the caller's config was changed")
	}
	if tapped.LogOutput != nil {
		t.Error("the copy names a LogOutput as well as a Logger, which memberlist refuses")
	}
	ref := log.New(&want, "node ", log.Lmsgprefix)
	for _, line := range []string{
		"[WARN] memberlist: handler queue full, dropping message (3) from=127.0.0.1:7946",
		"[DEBUG] memberlist: Stream connection from=127.0.0.1:50000",
		"[WARN] memberlist: handler queue full, dropping message (8) from=127.0.0.1:7946",
	} {
		tapped.Logger.Print(line)
		ref.Print(line)
	}
	if got.String() != want.String() {
		t.Errorf("logged\n%s\nwant\n%s", got.String(), want.String())
	}
	if drops != 2 {
		t.Errorf("%d drops reported, want 2", drops)
	}

	// Memberlist's own logger, built from LogOutput, is reproduced.
	got.Reset()
	conf = memberlist.DefaultLANConfig()
	conf.LogOutput = &got
	tapped = tapQueueDrops(conf, func() {})
	tapped.Logger.Print("[INFO] memberlist: line")
	if !bytes.HasSuffix(got.Bytes(), []byte(" [INFO] memberlist: line\n")) || tapped.Logger.Flags() != log.LstdFlags {
		t.Errorf("LogOutput's logger wrote %q with flags %d", got.String(), tapped.Logger.Flags())
	}

	// Both set: memberlist's error stands, so nothing is tapped.
	conf.Logger = base
	if tapQueueDrops(conf, func() {}) != conf {
		t.Error("a config naming both a Logger and a LogOutput was tapped")
	}
}

// TestRepeatsForgetAll: once memberlist has dropped a message, the next
// packet read finds every kept hash forgotten.
func TestRepeatsForgetAll(t *testing.T) {
	t0 := time.Unix(1000, 0)
	g := newGossipRepeats("self")
	g.tick(t0)
	g.add(1, t0)
	g.rotate(t0)
	g.add(2, t0)
	g.forgetAll()
	g.tick(t0.Add(time.Millisecond))
	if g.seen(1) || g.seen(2) {
		t.Error("hashes kept after memberlist dropped a message")
	}
	if n := g.forgets.Load(); n != 1 {
		t.Errorf("forgot %d times, want 1", n)
	}
	g.add(3, t0)
	g.tick(t0.Add(2 * time.Millisecond))
	if !g.seen(3) || g.forgets.Load() != 1 {
		t.Error("a drop was forgotten twice")
	}
}
