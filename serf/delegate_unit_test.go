package serf

import (
	"bytes"
	"testing"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"
)

// Once a node has begun to leave memberlist, every packet carries its leave
// intent after everything else, as long as it fits.
func TestGetBroadcastsCarriesLeaveIntent(t *testing.T) {
	conf := metrics.DefaultConfig("test")
	conf.EnableRuntimeMetrics = false // no collector goroutine
	m, err := metrics.New(conf, &metrics.BlackholeSink{})
	if err != nil {
		t.Fatalf("metrics.New() error: %v", err)
	}
	s := &Serf{metrics: m}
	two := func() int { return 2 }
	s.broadcasts = &memberlist.TransmitLimitedQueue{NumNodes: two, RetransmitMult: 1}
	s.queryBroadcasts = &memberlist.TransmitLimitedQueue{NumNodes: two, RetransmitMult: 1}
	s.eventBroadcasts = &memberlist.TransmitLimitedQueue{NumNodes: two, RetransmitMult: 1}
	d := &delegate{serf: s}

	join, err := encodeMessage(messageJoinType, &messageJoin{LTime: 3, Node: "n"})
	if err != nil {
		t.Fatalf("encodeMessage(join) error: %v", err)
	}
	leave, err := encodeMessage(messageLeaveType, &messageLeave{LTime: 4, Node: "n"})
	if err != nil {
		t.Fatalf("encodeMessage(leave) error: %v", err)
	}
	const overhead, limit = 3, 1400

	s.broadcasts.QueueBroadcast(&broadcast{msg: join})
	if got := d.GetBroadcasts(overhead, limit); !equalMsgs(got, join) {
		t.Fatalf("GetBroadcasts() before leaving = %q, want only the join intent", got)
	}

	s.leaveIntent.Store(&leave)
	s.broadcasts.QueueBroadcast(&broadcast{msg: join})
	if got := d.GetBroadcasts(overhead, limit); !equalMsgs(got, join, leave) {
		t.Errorf("GetBroadcasts() while leaving = %q, want the join intent, then the leave intent", got)
	}
	// The queues are empty now; the intent still goes, in every packet.
	for i := 0; i < 3; i++ {
		if got := d.GetBroadcasts(overhead, limit); !equalMsgs(got, leave) {
			t.Errorf("GetBroadcasts() call %d with empty queues = %q, want the leave intent", i, got)
		}
	}
	if got := d.GetBroadcasts(overhead, len(leave)+overhead-1); len(got) != 0 {
		t.Errorf("GetBroadcasts() with no room = %q, want nothing", got)
	}
	if got := d.GetBroadcasts(overhead, len(leave)+overhead); !equalMsgs(got, leave) {
		t.Errorf("GetBroadcasts() with just enough room = %q, want the leave intent", got)
	}
}

func equalMsgs(got [][]byte, want ...[]byte) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}
