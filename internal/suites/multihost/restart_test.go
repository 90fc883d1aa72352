package multihost

import (
	"syscall"
	"testing"
	"time"
)

// TestRollingRestart restarts every host's agent, one at a time, twice:
// first as a crash-like stop (SIGTERM, no leave: the snapshot brings it
// back), then as systemctl restart does with our unit (SIGINT, a graceful
// leave; -retry-join brings it back). After each restart the cluster is
// whole again before the next one, and no member is ever lost for good.
func TestRollingRestart(t *testing.T) {
	requireLab(t)
	const n = 5
	c := NewCluster(t, "rr", n, ourBin)
	var agents []*Agent
	for i := 1; i <= n; i++ {
		peer := c.Host(1).IP
		if i == 1 {
			peer = c.Host(2).IP
		}
		agents = append(agents, c.StartRecorded(c.Host(i), ourBin, "-retry-join="+peer, "-retry-interval=1s"))
	}
	Converged(t, 60*time.Second, agents)

	for _, round := range []struct {
		name string
		sig  syscall.Signal
		code int
	}{
		{"sigterm", syscall.SIGTERM, 1},
		{"sigint", syscall.SIGINT, 0},
	} {
		var worst time.Duration
		for _, a := range agents {
			start := time.Now()
			if err := a.Signal(round.sig); err != nil {
				t.Fatal(err)
			}
			code, err := a.Wait(30 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code != round.code {
				t.Errorf("%s: %s exit code %d, want %d", a.Host.Name, round.name, code, round.code)
			}
			if err := a.Restart(); err != nil {
				t.Fatal(err)
			}
			Converged(t, 60*time.Second, agents)
			worst = max(worst, time.Since(start))
		}
		figure(t, round.name+"_worst_restart_to_whole", worst.Round(time.Millisecond))
	}
	// Nobody was reaped or is left over as failed anywhere.
	for _, a := range agents {
		if n := a.CountEvents("member-reap", ""); n != 0 {
			t.Errorf("%s reaped %d members", a.Host.Name, n)
		}
	}
}
