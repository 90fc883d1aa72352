package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/serf"
)

const serfDownLine = "[WARN] agent: Serf shutdown detected, quitting"

// startAgent creates and starts an agent on a test serf config, logging
// into the returned buffer, and shuts it down at cleanup.
func startAgent(t *testing.T, sc *serf.Config) (*Agent, *cluster.SafeBuffer) {
	t.Helper()
	logs := &cluster.SafeBuffer{}
	a, err := Create(sc, Options{}, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Shutdown()
		a.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	return a, logs
}

// Stopping the agent, with or without a leave first, stops Serf under the
// event loop's eyes; that is no reason for the warning operators alert on.
func TestShutdownDoesNotWarn(t *testing.T) {
	for _, leave := range []bool{true, false} {
		a, logs := startAgent(t, cluster.Config("quiet"))
		if leave {
			if err := a.Leave(); err != nil {
				t.Fatalf("Leave() error: %v", err)
			}
		}
		if err := a.Shutdown(); err != nil {
			t.Fatalf("Shutdown() error: %v", err)
		}
		a.Wait()
		if strings.Contains(logs.String(), serfDownLine) {
			t.Errorf("leave %v, then Shutdown logged %q:\n%s", leave, serfDownLine, logs.String())
		}
	}
}

// An agent that loses a name conflict sees Serf shut itself down: then,
// as in Serf, it warns and shuts down, which ends `serf agent`.
func TestSerfShutdownUnderneathWarns(t *testing.T) {
	c := cluster.New(t, "ac", 3, nil)
	c.WaitConverged(t, 10*time.Second)

	a, logs := startAgent(t, cluster.Config("ac1"))
	_, _ = a.Join([]string{c.Nodes[0].Addr()}, false)
	select {
	case <-a.ShutdownCh():
	case <-time.After(10 * time.Second):
		t.Fatalf("agent named like a member still runs after 10s; log:\n%s", logs.String())
	}
	a.Wait()
	out := logs.String()
	for _, want := range []string{
		"[WARN] serf: minority in name conflict resolution, quiting [",
		serfDownLine + "\n",
		"[INFO] agent: shutdown complete\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, serfDownLine) != 1 {
		t.Errorf("log has %q %d times, want once", serfDownLine, strings.Count(out, serfDownLine))
	}
}
