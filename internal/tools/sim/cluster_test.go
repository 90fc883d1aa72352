package sim

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestClusterDisseminates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 50
		c, err := NewCluster(n, Link{Delay: time.Millisecond}, nil)
		if err != nil {
			t.Fatalf("NewCluster() error: %v", err)
		}
		defer c.Shutdown()
		start := time.Now()
		if err := c.Bootstrap(5 * time.Minute); err != nil {
			t.Fatalf("Bootstrap() error: %v", err)
		}
		t.Logf("bootstrap took %v virtual", time.Since(start))

		// Virtual time runs the protocol on schedule: an idle node sends
		// one ping per ProbeInterval (1s) and answers one, so 10s bring
		// about 2*n*10 bare pings and acks.
		before := c.Net.Stats()
		time.Sleep(10 * time.Second)
		after := c.Net.Stats()
		probes := (after.Sent - after.Gossip) - (before.Sent - before.Gossip)
		if want := uint64(2 * n * 10); probes < want*95/100 || probes > want*105/100 {
			t.Errorf("%d pings and acks in 10s, want about %d", probes, want)
		}

		// Gossip alone misses a node now and then, as in Serf; push/pull
		// (every 30s) brings it the event, so the wait covers two rounds.
		s, err := c.UserEvent(3, "hello", 90*time.Second)
		if err != nil {
			t.Fatalf("UserEvent() error: %v", err)
		}
		if len(s.Latencies) != n {
			t.Fatalf("user event reached %d nodes, want %d", len(s.Latencies), n)
		}
		t.Logf("user event: max %v", s.Latencies[n-1])

		f, err := c.Fail(7, 2*time.Minute)
		if err != nil {
			t.Fatalf("Fail() error: %v", err)
		}
		if len(f.Latencies) != n-1 {
			t.Fatalf("failure known by %d nodes, want %d", len(f.Latencies), n-1)
		}
		t.Logf("failure: first %v, max %v", f.Latencies[0], f.Latencies[n-2])
		// Lifeguard: nobody declares the failure before a probe interval
		// plus the shortest suspicion timeout.
		floor := DefaultModelConfig(n, Link{}).SuspicionMin() + time.Second
		if f.Latencies[0] < floor {
			t.Errorf("failure declared after %v, before the floor %v", f.Latencies[0], floor)
		}
	})
}
