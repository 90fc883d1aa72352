package serf

import (
	"fmt"
	"io"
	"log"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/golden"
)

// memberlistLeaves returns the first packet memberlist v0.7 sends to a
// peer once it leaves: the one with its dead message about itself.
func memberlistLeaves(t *testing.T) []byte {
	t.Helper()
	ml, tr := captureWithPeer(t, func(*memberlist.Config) {})
	deadline := time.Now().Add(10 * time.Second)
	for ml.NumMembers() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("memberlist did not take the peer")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ml.Leave(5 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	return tr.sentPacket(t, "leave", func(p []byte) bool {
		left := false
		noteSelfLeaves(p, func(string) { left = true })
		return left
	})
}

// TestSelfLeavesInMemberlistsPackets finds the leave in what memberlist
// sends, live and as kept in testdata/leave_dead_packet.hex.
func TestSelfLeavesInMemberlistsPackets(t *testing.T) {
	for name, pkt := range map[string][]byte{
		"memberlist's packet": memberlistLeaves(t),
		"fixture":             golden.Read(t, "leave_dead_packet"),
	} {
		var left []string
		noteSelfLeaves(pkt, func(node string) { left = append(left, node) })
		if len(left) != 1 || left[0] != "capture" {
			t.Errorf("%s: leaves %q in %x, want [capture]", name, left, pkt)
		}
	}
}

func TestSelfLeaveOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		want string
	}{
		{"own dead message", accusationMsg(t, mlDeadMsg, 2, "a", "a"), "a"},
		{"declared dead by another", accusationMsg(t, mlDeadMsg, 2, "a", "b"), ""},
		{"a suspicion", accusationMsg(t, mlSuspectMsg, 2, "a", "a"), ""},
		{"no node", accusationMsg(t, mlDeadMsg, 2, "", ""), ""},
		{"truncated", accusationMsg(t, mlDeadMsg, 2, "a", "a")[:5], ""},
		{"empty", nil, ""},
	} {
		got, ok := selfLeaveOf(tc.msg)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: selfLeaveOf = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	// In a compound with a checksum, as gossip carries them.
	pkt := withCRC(compound(aliveMsg(t, 3, "c"), accusationMsg(t, mlDeadMsg, 2, "a", "a"), accusationMsg(t, mlDeadMsg, 4, "b", "c")))
	var left []string
	noteSelfLeaves(pkt, func(node string) { left = append(left, node) })
	if fmt.Sprint(left) != "[a]" {
		t.Errorf("noteSelfLeaves = %q, want [a]", left)
	}
}

func TestSelfLeavesExpireAndForget(t *testing.T) {
	var l selfLeaves
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	l.note("a", t0)
	if !l.take("a", t0.Add(selfLeaveTTL)) {
		t.Error("a note within the TTL was not taken")
	}
	if l.take("a", t0.Add(selfLeaveTTL)) {
		t.Error("a note was taken twice")
	}
	l.note("b", t0)
	if l.take("b", t0.Add(selfLeaveTTL+time.Millisecond)) {
		t.Error("an expired note was taken")
	}
	l.note("c", t0)
	l.forget("c")
	if l.take("c", t0) {
		t.Error("a forgotten note was taken")
	}
	// Full, expired notes make room; fresh ones are kept over new ones.
	for i := range selfLeaveMax {
		l.note(fmt.Sprintf("n%d", i), t0)
	}
	l.note("late", t0.Add(time.Second))
	if l.take("late", t0.Add(time.Second)) {
		t.Error("a note past the bound was kept over fresh ones")
	}
	l.note("later", t0.Add(selfLeaveTTL+time.Second))
	if !l.take("later", t0.Add(selfLeaveTTL+time.Second)) || len(l.seen) != 0 {
		t.Errorf("expired notes did not make room: %d kept", len(l.seen))
	}
}

// leaveNode is a Serf with one alive member, x, and only what
// handleNodeLeave needs.
func leaveNode(t *testing.T) *Serf {
	t.Helper()
	conf := metrics.DefaultConfig("test")
	conf.EnableRuntimeMetrics = false
	m, err := metrics.New(conf, &metrics.BlackholeSink{})
	if err != nil {
		t.Fatal(err)
	}
	return &Serf{
		config:  DefaultConfig(),
		metrics: m,
		logger:  log.New(io.Discard, "", 0),
		members: map[string]*memberState{"x": {Member: Member{Name: "x", Status: StatusAlive}}},
		eventQ:  make(chan Event, 4),
	}
}

// TestHandleNodeLeaveTakesAnnouncedLeave: memberlist reports x gone
// while Serf still lists it alive, the leave intent not yet in. Had x
// announced its leave itself, it has left; otherwise it failed.
func TestHandleNodeLeaveTakesAnnouncedLeave(t *testing.T) {
	for _, tc := range []struct {
		name      string
		announced bool
		want      MemberStatus
		event     EventType
	}{
		{"announced", true, StatusLeft, EventMemberLeave},
		{"not announced", false, StatusFailed, EventMemberFailed},
	} {
		s := leaveNode(t)
		if tc.announced {
			s.selfLeaves.note("x", time.Now())
		}
		s.handleNodeLeave(&memberlist.Node{Name: "x"})
		m := s.members["x"]
		if m.Status != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, m.Status, tc.want)
		}
		if got := len(s.leftMembers); got != map[bool]int{true: 1}[tc.want == StatusLeft] {
			t.Errorf("%s: %d left members", tc.name, got)
		}
		if got := len(s.failedMembers); got != map[bool]int{true: 1}[tc.want == StatusFailed] {
			t.Errorf("%s: %d failed members", tc.name, got)
		}
		select {
		case e := <-s.eventQ:
			if me, ok := e.(MemberEvent); !ok || me.Type != tc.event {
				t.Errorf("%s: event %v, want %v", tc.name, e, tc.event)
			}
		default:
			t.Errorf("%s: no event", tc.name)
		}
		// The intent, when it comes, changes nothing more.
		if !s.handleNodeLeaveIntent(&messageLeave{LTime: 9, Node: "x"}) && tc.want == StatusLeft {
			t.Errorf("%s: the late intent is not gossiped on", tc.name)
		}
		if m.Status != StatusLeft {
			t.Errorf("%s: after the intent: status %v, want left", tc.name, m.Status)
		}
	}
}
