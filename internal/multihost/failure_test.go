package multihost

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/wait"
)

// startRecorded starts n agents, one per host, each with the recording
// handler and a snapshot in its directory, all joining host 1, and waits
// for them to form one cluster.
func startRecorded(t *testing.T, c *Cluster, n int, extra ...string) []*Agent {
	t.Helper()
	return startRecordedWith(t, c, n, ourBin, extra...)
}

// startRecordedWith is startRecorded with the agents' binary chosen.
func startRecordedWith(t *testing.T, c *Cluster, n int, bin string, extra ...string) []*Agent {
	t.Helper()
	var agents []*Agent
	for i := 1; i <= n; i++ {
		h := c.Host(i)
		dir := filepath.Join(c.dir, h.Name)
		script, err := HandlerScript(dir)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"-iface=eth1", "-snapshot=" + filepath.Join(dir, "snapshot"),
			"-event-handler=" + script}
		if i > 1 {
			args = append(args, "-join="+c.Host(1).IP)
		}
		agents = append(agents, c.Start(h, bin, append(args, extra...)...))
		if i == 1 {
			// The others join it: it must be listening first.
			WaitRPC(t, agents[0])
		}
	}
	Converged(t, 30*time.Second, agents)
	return agents
}

// withoutJoin returns args without any -join.
func withoutJoin(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) < 6 || a[:6] != "-join=" {
			out = append(out, a)
		}
	}
	return out
}

// TestCrashAndRestart: kill -9 one host's agent; every other host sees it
// failed and runs its member-failed handler. Restarted with its snapshot
// and no join address, it rejoins by itself and replays no old event.
func TestCrashAndRestart(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "cr", 5, ourBin)
	agents := startRecorded(t, c, 5)
	victim := agents[2]
	rest := Others(agents, victim)

	// An event every host handles once before the crash.
	if _, err := agents[0].CLI("event", "deploy", "v1"); err != nil {
		t.Fatal(err)
	}
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		for _, a := range agents {
			if n := a.CountEvents("user:deploy", "v1"); n != 1 {
				return fmt.Errorf("%s handled deploy %d times", a.Host.Name, n)
			}
		}
		return nil
	})

	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	detect := AllSee(t, 30*time.Second, rest, "failed", victim.Host.Name)
	figure(t, "detect_kill9", detect.Round(time.Millisecond))
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		for _, a := range rest {
			if a.CountEvents("member-failed", victim.Host.Name) != 1 {
				return fmt.Errorf("%s has not run member-failed for %s", a.Host.Name, victim.Host.Name)
			}
		}
		return nil
	})

	// Back with the same snapshot and no join address.
	victim.Args = withoutJoin(victim.Args)
	start := time.Now()
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	Converged(t, 60*time.Second, agents)
	figure(t, "rejoin_from_snapshot", time.Since(start).Round(time.Millisecond))
	if !contains(victim.Log(), "serf: Attempting re-join to previously known node") {
		t.Errorf("%s did not rejoin from its snapshot", victim.Host.Name)
	}

	// A new event reaches it; the old one was not handled again.
	if _, err := agents[1].CLI("event", "deploy", "v2"); err != nil {
		t.Fatal(err)
	}
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		for _, a := range agents {
			if n := a.CountEvents("user:deploy", "v2"); n != 1 {
				return fmt.Errorf("%s handled deploy v2 %d times", a.Host.Name, n)
			}
		}
		return nil
	})
	if n := victim.CountEvents("user:deploy", "v1"); n != 1 {
		t.Errorf("%s handled the old deploy %d times, want once (no replay)", victim.Host.Name, n)
	}
}

// TestGracefulLeave: SIGINT on one host's agent makes it leave, and every
// other host sees it left within seconds and runs member-leave.
func TestGracefulLeave(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "gl", 5, ourBin)
	agents := startRecorded(t, c, 5)
	leaver := agents[3]
	rest := Others(agents, leaver)

	start := time.Now()
	if err := leaver.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	seen := AllSee(t, 15*time.Second, rest, "left", leaver.Host.Name)
	figure(t, "seen_left", seen.Round(time.Millisecond))
	code, err := leaver.Wait(30 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("leaver exit: code %d, %v; want 0", code, err)
	}
	figure(t, "leaver_exit", time.Since(start).Round(time.Millisecond))
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		for _, a := range rest {
			if a.CountEvents("member-leave", leaver.Host.Name) != 1 {
				return fmt.Errorf("%s has not run member-leave for %s", a.Host.Name, leaver.Host.Name)
			}
		}
		return nil
	})
}
