package serf_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// TestQueueDropLetsNextCopiesThrough: when memberlist's handler queue is
// full it drops what the transport handed it, and the transport, which
// had noted those messages as handed on, must let their next copies
// through instead of dropping them as repeats. Here the handler is held
// at a user event while alive messages of more members than its queue
// holds arrive; once it is released, the same messages come again, and
// every member must be known.
func TestQueueDropLetsNextCopiesThrough(t *testing.T) {
	const depth, members = 4, 12
	conf := cluster.Config("drops")
	conf.MemberlistConfig.HandoffQueueDepth = depth
	stalled, release := make(chan struct{}), make(chan struct{})
	serf.StallOnUserEvent(conf, stalled, release)
	n := cluster.Start(t, conf)
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	addr, err := net.ResolveUDPAddr("udp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(pkt []byte) {
		t.Helper()
		if _, err := conn.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	alive := make([][]byte, members)
	for i := range alive {
		alive[i] = serf.AliveMessage(t, 1, fmt.Sprintf("peer-%02d", i), uint16(20000+i))
	}

	send(serf.UserEventMessage(t, 1, "hold"))
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never reached the user event")
	}
	for _, pkt := range alive {
		send(pkt)
	}
	// memberlist queues depth of them and logs a drop for each of the rest.
	wait.For(t, 10*time.Second, func() error {
		if got := strings.Count(n.Logs.String(), "handler queue full, dropping message"); got < members-depth {
			return fmt.Errorf("memberlist logged %d drops, want %d", got, members-depth)
		}
		return nil
	})
	close(release)
	released = true

	wait.For(t, 10*time.Second, func() error {
		if got := len(n.Serf.Members()); got < 1+depth {
			return fmt.Errorf("%d members, want the %d queued", got, 1+depth)
		}
		return nil
	})
	// The copies, as gossip keeps bringing them: every member whose first
	// message was dropped must come in with one of the next. (A burst of
	// copies may fill the queue again, and each drop is forgotten too.)
	wait.For(t, 10*time.Second, func() error {
		var missing []string
		for i := range members {
			name := fmt.Sprintf("peer-%02d", i)
			if _, ok := n.Member(name); !ok {
				missing = append(missing, name)
				send(alive[i])
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not known: %v", missing)
		}
		return nil
	})
	if n.Serf.RepeatsForgotten() == 0 {
		t.Error("the transport never forgot what it had handed on")
	}
}
