package multihost

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
)

// startRecorded starts n agents, one per host, each with the recording
// handler and a snapshot in its directory, all joining host 1, and waits
// for them to form one cluster.
func startRecorded(t *testing.T, c *Cluster, n int, extra ...string) []*Agent {
	t.Helper()
	return startRecordedWith(t, c, n, ourBin, extra...)
}

// recordedCluster builds a lab of n hosts, named after prefix, and starts
// our agents on all of them as startRecorded does.
func recordedCluster(t *testing.T, prefix string, n int) (*Cluster, []*Agent) {
	t.Helper()
	c := NewCluster(t, prefix, n, ourBin)
	return c, startRecorded(t, c, n)
}

// startRecordedWith is startRecorded with the agents' binary chosen.
func startRecordedWith(t *testing.T, c *Cluster, n int, bin string, extra ...string) []*Agent {
	t.Helper()
	agents, _ := c.StartJoined(30*time.Second, c.StartRecorded, slices.Repeat([]string{bin}, n),
		func(int, *netns.Host) []string { return extra })
	return agents
}

// withoutJoin returns args without any -join.
func withoutJoin(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-join=") {
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
	_, agents := recordedCluster(t, "cr", 5)
	victim := agents[2]
	rest := Others(agents, victim)

	// An event every host handles once before the crash.
	if _, err := agents[0].CLI("event", "deploy", "v1"); err != nil {
		t.Fatal(err)
	}
	AllHandled(t, GossipRepair, agents, "user:deploy", "v1")

	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	detect := AllSee(t, 30*time.Second, rest, "failed", victim.Host.Name)
	figure(t, "detect_kill9", detect.Round(time.Millisecond))
	AllHandled(t, 30*time.Second, rest, "member-failed", victim.Host.Name)

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
	AllHandled(t, GossipRepair, agents, "user:deploy", "v2")
	if n := victim.CountEvents("user:deploy", "v1"); n != 1 {
		t.Errorf("%s handled the old deploy %d times, want once (no replay)", victim.Host.Name, n)
	}
}

// TestGracefulLeave: SIGINT on one host's agent makes it leave, and every
// other host sees it left within seconds and runs member-leave.
func TestGracefulLeave(t *testing.T) {
	requireLab(t)
	_, agents := recordedCluster(t, "gl", 5)
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
	AllHandled(t, 30*time.Second, rest, "member-leave", leaver.Host.Name)
}
