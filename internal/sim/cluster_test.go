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

		s, err := c.UserEvent(3, "hello", 30*time.Second)
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
	})
}
