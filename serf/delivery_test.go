package serf_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/metricsink"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// A node whose event channel nobody reads keeps gossiping: it still sees
// joins, user events reach the others through it, failures are detected,
// and the events it could not deliver are counted and logged.
func TestStuckEventReaderDoesNotStallGossip(t *testing.T) {
	m, sink := metricsink.New(t)

	cfg := cluster.Config("stuck")
	cfg.EventCh = make(chan serf.Event) // unbuffered and never read
	cfg.EventQueueDepth = 8
	cfg.Metrics = m
	stuck := cluster.Start(t, cfg)

	var others []*cluster.Node
	for i := 0; i < 3; i++ {
		n := cluster.Start(t, cluster.Config(fmt.Sprintf("ok%d", i)))
		if _, err := n.Serf.Join([]string{stuck.Addr()}, false); err != nil {
			t.Fatalf("Join() error: %v", err)
		}
		others = append(others, n)
	}
	all := append([]*cluster.Node{stuck}, others...)
	for _, n := range all {
		cluster.WaitStatus(t, timeout, all, n.Name, serf.StatusAlive)
	}

	for i := 0; i < 50; i++ {
		if err := stuck.Serf.UserEvent(fmt.Sprintf("e%d", i), nil, false); err != nil {
			t.Fatalf("UserEvent() error: %v", err)
		}
	}
	wait.For(t, timeout, func() error {
		for _, n := range others {
			if got := len(n.UserEvents()); got != 50 {
				return fmt.Errorf("%s got %d events, want 50", n.Name, got)
			}
		}
		return nil
	})

	others[2].Shutdown()
	cluster.WaitStatus(t, timeout, []*cluster.Node{stuck}, others[2].Name, serf.StatusFailed)

	if got := stuck.Serf.DroppedEvents(); got == 0 {
		t.Errorf("DroppedEvents() = 0, want > 0")
	}
	var counted float64
	for _, iv := range sink.Data() {
		for name, c := range iv.Counters {
			if strings.HasPrefix(name, "test.serf.events.dropped") {
				counted += c.Sum
			}
		}
	}
	if counted == 0 {
		t.Errorf("serf.events.dropped metric = 0, want > 0")
	}
	if !strings.Contains(stuck.Logs.String(), "[WARN] serf: Event channel full, dropped") {
		t.Errorf("no drop warning in the log")
	}
}
