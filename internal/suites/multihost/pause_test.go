package multihost

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// TestPausedAgent stops one agent with SIGSTOP for longer than the
// suspicion timeout: the others mark it failed. After SIGCONT it learns
// it was declared dead, refutes it and is alive everywhere again.
func TestPausedAgent(t *testing.T) {
	requireLab(t)
	_, agents := recordedCluster(t, "pa", 5)
	sleeper := agents[2]
	rest := Others(agents, sleeper)

	if err := sleeper.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	detect := AllSee(t, 30*time.Second, rest, "failed", sleeper.Host.Name)
	figure(t, "detect_paused", detect.Round(time.Millisecond))
	if err := sleeper.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	figure(t, "paused_for", time.Since(stopped).Round(time.Millisecond))
	back := Converged(t, 90*time.Second, agents)
	figure(t, "alive_after_sigcont", back.Round(time.Millisecond))
	if !strings.Contains(sleeper.Log(), "memberlist: Refuting a") {
		t.Errorf("%s came back without refuting", sleeper.Host.Name)
	}
}

// TestStuckHandler gives one host an event handler that never returns
// and sends it a stream of user events: the host keeps gossiping, so no
// one ever suspects it, and its own RPC keeps answering.
func TestStuckHandler(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "sh", 5, ourBin)
	agents := startRecorded(t, c, 4)
	stuck := c.Start(c.Host(5), ourBin, "-iface=eth1", "-join="+c.Host(1).IP,
		"-event-handler=user=sleep 3600")
	agents = append(agents, stuck)
	Converged(t, 30*time.Second, agents)

	// 15 s of events, 10 a second, each handed to a handler that hangs.
	const window = 15 * time.Second
	end := time.Now().Add(window)
	sent := 0
	for time.Now().Before(end) {
		if _, err := agents[0].CLI("event", "-coalesce=false", "stuck", fmt.Sprint(sent)); err != nil {
			t.Fatal(err)
		}
		sent++
		for _, o := range agents {
			st, err := o.Statuses()
			if err != nil {
				t.Fatalf("%s: %v", o.Host.Name, err)
			}
			if s := st[stuck.Host.Name]; s != "alive" {
				t.Fatalf("after %d events %s sees the stuck host as %q", sent, o.Host.Name, s)
			}
		}
		time.Sleep(PollInterval)
	}
	figure(t, "events_sent", sent)
	for _, o := range Others(agents, stuck) {
		if strings.Contains(o.Log(), "Suspect "+stuck.Host.Name) {
			t.Errorf("%s suspected the host with the stuck handler", o.Host.Name)
		}
	}
	// Everyone else handled every event. At ten a second gossip misses a
	// host now and then (a few events in a thousand deliveries, as in
	// Serf); the host's next push/pull, every 30 s, brings the events it
	// missed. Two intervals cover a push/pull partner that missed the
	// same event.
	took := wait.Every(t, 75*time.Second, PollInterval, func() error {
		for _, o := range Others(agents, stuck) {
			if n := o.CountEvents("user:stuck", ""); n != sent {
				return fmt.Errorf("%s handled %d of %d events", o.Host.Name, n, sent)
			}
		}
		return nil
	})
	figure(t, "all_handled_after", took.Round(time.Millisecond))
}
