package serf

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/golden"
)

// accusationMsg encodes a suspect or dead message as memberlist does:
// the type byte, then the msgpack map of memberlist's struct.
func accusationMsg(t testing.TB, typ byte, inc uint32, node, from string) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteByte(typ)
	msg := struct {
		Incarnation uint32
		Node        string
		From        string
	}{inc, node, from}
	if err := codec.NewEncoder(&buf, msgpackHandle).Encode(&msg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFindAccusation(t *testing.T) {
	suspectMe := accusationMsg(t, mlSuspectMsg, 7, "n1", "n2")
	deadMe := accusationMsg(t, mlDeadMsg, 8, "n1", "n3")
	suspectOther := accusationMsg(t, mlSuspectMsg, 7, "n10", "n2")
	leave := accusationMsg(t, mlDeadMsg, 9, "n1", "n1")
	gossip := []byte{8, 'n', '1'}
	cases := []struct {
		name string
		pkt  []byte
		want *accusation
	}{
		{"suspect", suspectMe, &accusation{Incarnation: 7, Node: "n1", From: "n2"}},
		{"dead", deadMe, &accusation{Incarnation: 8, Node: "n1", From: "n3", dead: true}},
		{"checksummed", withCRC(suspectMe), &accusation{Incarnation: 7, Node: "n1", From: "n2"}},
		{"in a compound", compound(gossip, suspectOther, deadMe), &accusation{Incarnation: 8, Node: "n1", From: "n3", dead: true}},
		{"checksummed compound", withCRC(compound(gossip, suspectMe)), &accusation{Incarnation: 7, Node: "n1", From: "n2"}},
		{"about a member whose name holds ours", suspectOther, nil},
		{"this node's own leave", leave, nil},
		{"gossip naming us", gossip, nil},
		{"bad checksum", append(withCRC(suspectMe)[:5:5], append([]byte{mlSuspectMsg ^ 1}, suspectMe[1:]...)...), nil},
		{"truncated", suspectMe[:len(suspectMe)-2], nil},
		{"compound in a compound", compound(compound(suspectMe)), nil},
		{"compound cut short", compound(suspectMe)[:6], nil},
		{"empty", nil, nil},
	}
	for _, c := range cases {
		got, ok := findAccusation(c.pkt, "n1")
		if c.want == nil {
			if ok {
				t.Errorf("%s: found %+v, want nothing", c.name, got)
			}
			continue
		}
		if !ok || got != *c.want {
			t.Errorf("%s: found %+v (%v), want %+v", c.name, got, ok, *c.want)
		}
	}
}

// TestRefuterAnswersOnce: the refuter answers an accusation once, and
// leaves alone the copies of it still being gossiped and any older one.
func TestRefuterAnswersOnce(t *testing.T) {
	var answered []uint32
	r := &refuter{answer: func(a accusation) { answered = append(answered, a.Incarnation) }}
	for _, inc := range []uint32{3, 3, 2, 4, 4, 3, 5} {
		r.accused(accusation{Incarnation: inc, Node: "n1", From: "n2"})
	}
	if want := []uint32{3, 4, 5}; !equalUint32s(answered, want) {
		t.Fatalf("answered %v, want %v", answered, want)
	}
}

func equalUint32s(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOwnAccusations finds the suspicions and deaths this node raised in
// what it sends, and nothing else.
func TestOwnAccusations(t *testing.T) {
	mine := accusationMsg(t, mlSuspectMsg, 4, "x", "me")
	myDeath := accusationMsg(t, mlDeadMsg, 5, "y", "me")
	others := accusationMsg(t, mlSuspectMsg, 4, "x", "z")
	aboutMe := accusationMsg(t, mlSuspectMsg, 4, "me", "z")
	leave := accusationMsg(t, mlDeadMsg, 6, "me", "me")
	ping := []byte{mlPingMsg, 0x80}
	var found []accusation
	for _, pkt := range [][]byte{
		mine,
		withCRC(compound(ping, others, myDeath, aboutMe)),
		compound(leave),
		compound(mine)[:5],
	} {
		ownAccusations(pkt, "me", func(msg []byte, a accusation) {
			if msg[0] != mlSuspectMsg && msg[0] != mlDeadMsg {
				t.Errorf("handed %x, not the message", msg)
			}
			found = append(found, a)
		})
	}
	want := []accusation{{Incarnation: 4, Node: "x", From: "me"}, {Incarnation: 5, Node: "y", From: "me", dead: true}}
	if len(found) != len(want) || found[0] != want[0] || found[1] != want[1] {
		t.Fatalf("found %+v, want %+v", found, want)
	}
}

// TestTellLoop: an accusation this node raised goes to the accused once,
// however often memberlist sends it on, and a new one goes again.
func TestTellLoop(t *testing.T) {
	tr := newTestTransport(t, "127.0.0.1", 0)
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	pa := peer.LocalAddr().(*net.UDPAddr)
	s := &Serf{
		members:    map[string]*memberState{"x": {Member: Member{Name: "x", Addr: pa.IP, Port: uint16(pa.Port)}}},
		tellCh:     make(chan telling, tellQueueDepth),
		shutdownCh: make(chan struct{}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.tellLoop(tr)
	}()
	defer func() {
		close(s.shutdownCh)
		<-done
	}()

	suspect4 := accusationMsg(t, mlSuspectMsg, 4, "x", "me")
	dead4 := accusationMsg(t, mlDeadMsg, 4, "x", "me")
	suspect5 := accusationMsg(t, mlSuspectMsg, 5, "x", "me")
	unknown := accusationMsg(t, mlSuspectMsg, 1, "nobody", "me")
	for _, pkt := range [][]byte{
		withCRC(compound([]byte{mlPingMsg}, suspect4)), // a probe of the suspect: told
		suspect4,        // a retransmission: not again
		unknown,         // no address known: dropped
		compound(dead4), // the death: told
		dead4,
		suspect5, // a new suspicion: told
	} {
		ownAccusations(pkt, "me", s.told)
	}
	// This node refutes x's accusation: the first alive message about it
	// that goes out goes to x as well, once.
	alive := aliveMsg(t, 7, "me")
	send := func(pkt []byte) { // what the transport does with what it sends
		if s.accused.Load() {
			if msg, inc, ok := ownAlive(pkt, "me"); ok {
				s.answered(msg, inc)
			}
		}
	}
	send(alive)
	s.answerAccusers("x")
	s.answerAccusers("x")
	send(compound(aliveMsg(t, 7, "other"), suspect5))
	send(withCRC(compound(suspect5, alive)))
	send(alive)
	if s.accused.Load() {
		t.Error("still waiting to answer after the refutation went out")
	}
	suspect6 := accusationMsg(t, mlSuspectMsg, 6, "x", "me")
	ownAccusations(suspect6, "me", s.told) // next: no second copy of the alive before it
	_ = peer.SetReadDeadline(time.Now().Add(transportWait))
	buf := make([]byte, 1500)
	for i, want := range [][]byte{suspect4, dead4, suspect5, alive, suspect6} {
		n, _, err := peer.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("packet %d is %x, want %x", i, buf[:n], want)
		}
	}
}

// aliveMsg encodes memberlist's alive message about node at 127.0.0.2.
func aliveMsg(t testing.TB, inc uint32, node string) []byte {
	t.Helper()
	return aliveMsgAt(t, inc, node, 7946, []uint8{1, 5, 5, 0, 0, 0})
}

// aliveMsgAt is memberlist's alive message about node at 127.0.0.2 and
// port, with the protocol versions vsn.
func aliveMsgAt(t testing.TB, inc uint32, node string, port uint16, vsn []uint8) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteByte(mlAliveMsg)
	a := struct {
		Incarnation uint32
		Node        string
		Addr        []byte
		Port        uint16
		Meta        []byte
		Vsn         []uint8
	}{inc, node, net.IPv4(127, 0, 0, 2).To4(), port, nil, vsn}
	if err := codec.NewEncoder(&buf, msgpackHandle).Encode(&a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// captureWithPeer starts a memberlist named "capture" on a capture
// transport, configured by tune, and tells it of a member "peer" at
// 127.0.0.2 that never answers. It is shut down when the test ends.
func captureWithPeer(t *testing.T, tune func(*memberlist.Config)) (*memberlist.Memberlist, *captureTransport) {
	t.Helper()
	conf := memberlist.DefaultLANConfig()
	conf.Name = "capture"
	// memberlist's suspicion timer fires (and logs) after Shutdown.
	conf.LogOutput = io.Discard
	conf.GossipInterval = 10 * time.Millisecond
	tune(conf)
	tr := newCaptureTransport()
	conf.Transport = tr
	ml, err := memberlist.Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ml.Shutdown() })
	tr.packetC <- &memberlist.Packet{Buf: aliveMsg(t, 1, "peer"), From: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 7946}, Timestamp: time.Now()}
	return ml, tr
}

// sentPacket returns the first packet tr has sent that has, waiting up
// to 10 s for it; what names it for the failure.
func (c *captureTransport) sentPacket(t *testing.T, what string, has func([]byte) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		packets := append([][]byte(nil), c.packets...)
		c.mu.Unlock()
		for _, p := range packets {
			if has(p) {
				return p
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("memberlist sent no %s", what)
	return nil
}

// memberlistSuspects has memberlist itself raise a suspicion: it is told
// of a member "peer" that never answers, probes it, suspects it and
// sends the suspicion on. It returns the first packet memberlist sent
// that carries it.
func memberlistSuspects(t *testing.T) []byte {
	t.Helper()
	_, tr := captureWithPeer(t, func(conf *memberlist.Config) {
		conf.ProbeInterval = 50 * time.Millisecond
		conf.ProbeTimeout = 10 * time.Millisecond
	})
	return tr.sentPacket(t, "suspicion of peer", func(p []byte) bool {
		_, ok := findAccusation(p, "peer")
		return ok
	})
}

// TestAccusationsInMemberlistsPackets reads the suspicion out of what
// memberlist sends, live and as kept in testdata/suspect_packet.hex.
func TestAccusationsInMemberlistsPackets(t *testing.T) {
	for name, pkt := range map[string][]byte{
		"memberlist's packet": memberlistSuspects(t),
		"fixture":             golden.Read(t, "suspect_packet"),
	} {
		a, ok := findAccusation(pkt, "peer")
		if !ok || a.Node != "peer" || a.From != "capture" || a.Incarnation != 1 || a.dead {
			t.Errorf("%s: found %+v (%v) in %x", name, a, ok, pkt)
		}
		var own []accusation
		ownAccusations(pkt, "capture", func(_ []byte, a accusation) { own = append(own, a) })
		if len(own) != 1 || own[0] != a {
			t.Errorf("%s: the sender finds %+v, want %+v", name, own, a)
		}
		if u := urgency(pkt); name == "fixture" && u != urgentNone {
			t.Errorf("fixture: urgency %d, want gossip's", u)
		}
	}
}

// FuzzReceivedPacket feeds the transport's readers of memberlist packets
// (urgency, the split of compounds, repeats dropped, accusations found,
// accusations raised, leaves announced) any bytes: none may
// panic, and what they find must be about the names asked.
func FuzzReceivedPacket(f *testing.F) {
	f.Add(golden.Read(f, "suspect_packet"))
	f.Add(compound([]byte{mlAckRespMsg}, []byte{8}))
	f.Add(withCRC(accusationMsg(f, mlDeadMsg, 3, "peer", "x")))
	f.Add(golden.Read(f, "leave_dead_packet"))
	f.Add(compound(aliveMsg(f, 2, "peer"), aliveMsg(f, 2, "peer"), []byte{mlUserMsg, 0}))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		noteSelfLeaves(pkt, func(node string) {
			if node == "" {
				t.Fatal("a leave of no node")
			}
		})
		if u := urgency(pkt); u < urgentReply || u > urgentNone {
			t.Fatalf("urgency %d", u)
		}
		// The parts are pkt whole or its messages, each a piece of it
		// and at least a type byte, in order.
		parts, off := splitUrgent(pkt), 0
		for _, part := range parts {
			if part.urgency < urgentReply || part.urgency > urgentNone || (len(parts) > 1 && len(part.buf) == 0) {
				t.Fatalf("part %x, urgency %d", part.buf, part.urgency)
			}
			i := bytes.Index(pkt[off:], part.buf)
			if i < 0 {
				t.Fatalf("part %x not in %x after %d", part.buf, pkt, off)
			}
			off += i + len(part.buf)
		}
		// Handed on once, a packet comes back without the messages that
		// may be dropped as repeats: the rest are pieces of it, in order,
		// or it goes whole, as memberlist must see it.
		g := newGossipRepeats("capture")
		for _, part := range splitPacket(pkt, g) {
			for _, k := range part.keys {
				g.add(k, time.Time{})
			}
		}
		again, off := splitPacket(pkt, g), 0
		for _, part := range again {
			if bytes.Equal(part.buf, pkt) {
				continue
			}
			if _, ok := g.key(part.buf); ok {
				t.Fatalf("repeat %x handed on again", part.buf)
			}
			i := bytes.Index(pkt[off:], part.buf)
			if i < 0 {
				t.Fatalf("part %x not in %x after %d", part.buf, pkt, off)
			}
			off += i + len(part.buf)
		}
		if a, ok := findAccusation(pkt, "peer"); ok && (a.Node != "peer" || a.From == "peer") {
			t.Fatalf("found %+v", a)
		}
		ownAccusations(pkt, "capture", func(msg []byte, a accusation) {
			if a.From != "capture" || a.Node == "capture" || len(msg) == 0 {
				t.Fatalf("raised %+v", a)
			}
		})
	})
}
