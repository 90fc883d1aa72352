package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// currentRun is the agent's retry run, nil when none was started or the
// last one was stopped.
func currentRun(a *Agent) *retryRun {
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.retry == nil {
		return nil
	}
	return a.retry.run
}

// retryingDaemon starts a daemon named name and its retry join, which
// tries an address where no one listens, every interval. It returns the
// agent, its log and its config.
func retryingDaemon(t *testing.T, name, interval string) (*Agent, *cluster.SafeBuffer, *Config) {
	t.Helper()
	conf := daemonConfig(t, name, func(c *Config) {
		c.RetryJoin = []string{oracle.FreeAddr(t, cluster.IP())}
		c.RetryIntervalRaw = interval
	})
	a, logs := startDaemon(t, conf)
	a.StartRetryJoin()
	return a, logs, conf
}

// waitLog waits until the agent's log has line.
func waitLog(t *testing.T, logs *cluster.SafeBuffer, line string) {
	t.Helper()
	wait.For(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), line) {
			return fmt.Errorf("log lacks %q", line)
		}
		return nil
	})
}

// waitNodes waits until the agent's node knows n members.
func waitNodes(t *testing.T, a *Agent, n int) {
	t.Helper()
	wait.For(t, 30*time.Second, func() error {
		if got := a.Serf().NumNodes(); got != n {
			return fmt.Errorf("NumNodes() = %d, want %d", got, n)
		}
		return nil
	})
}

// A reload that sets retry_join starts the retry join, one that empties
// it stops it, and one that changes it again starts it with the new
// addresses, which it joins; RetryJoinFailedCh stays the same channel,
// open.
func TestReloadStartsAndStopsRetryJoin(t *testing.T) {
	_, addr := target(t, "rl-target")
	conf := daemonConfig(t, "rl-rj", func(c *Config) { c.RetryIntervalRaw = "1s" })
	a, logs := startDaemon(t, conf)
	a.StartRetryJoin()
	failed := a.RetryJoinFailedCh()
	if failed == nil || currentRun(a) != nil {
		t.Fatalf("without retry_join: RetryJoinFailedCh() = %v, run = %v, want a channel and no run", failed, currentRun(a))
	}

	dead := oracle.FreeAddr(t, cluster.IP())
	next := MergeConfig(nil, conf)
	next.RetryJoin = []string{dead}
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	waitLog(t, logs, fmt.Sprintf("[INFO] agent: Reload changed the retry join settings; retrying the join with [%q]\n", dead))
	waitLog(t, logs, "[WARN] agent: Join failed: ")

	emptied := MergeConfig(nil, conf)
	if err := a.Reload(emptied); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if !strings.Contains(logs.String(), "[INFO] agent: Reload emptied retry_join; the retry join is stopped\n") {
		t.Error("log lacks the line for the emptied retry_join")
	}
	if run := currentRun(a); run != nil {
		t.Fatalf("retry run after emptying retry_join = %v, want none", run)
	}

	joining := MergeConfig(nil, conf)
	joining.RetryJoin = []string{addr.String()}
	if err := a.Reload(joining); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	waitNodes(t, a, 2)
	waitLog(t, logs, "[INFO] agent: Join completed. Synced with 1 initial agents\n")
	if got := a.RetryJoinFailedCh(); got != failed {
		t.Errorf("RetryJoinFailedCh() changed with the reload")
	}
	select {
	case <-failed:
		t.Error("RetryJoinFailedCh() closed")
	default:
	}
}

// A reload that lowers retry_max_attempts makes the new run give up,
// closing the channel `serf agent` got before the reload.
func TestReloadRetryJoinGivesUp(t *testing.T) {
	a, logs, conf := retryingDaemon(t, "rl-max", "1s")
	failed := a.RetryJoinFailedCh()
	waitLog(t, logs, "[WARN] agent: Join failed: ")

	next := MergeConfig(nil, conf)
	next.RetryMaxAttempts = valuePtr(1)
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	select {
	case <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("retry join still going 30s after a reload allowed one retry")
	}
	if !strings.Contains(logs.String(), "[ERR] agent: maximum retry join attempts made, exiting\n") {
		t.Error("log lacks the give-up line")
	}
}

// A reload that leaves the retry settings alone leaves the run alone,
// even when replay_on_join changed.
func TestReloadKeepsRetryJoin(t *testing.T) {
	a, logs, conf := retryingDaemon(t, "rl-keep", "1h")
	run := currentRun(a)
	next := MergeConfig(nil, conf)
	next.LogLevel = "debug"
	next.ReplayOnJoin = valuePtr(true)
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if got := currentRun(a); got != run || run == nil {
		t.Errorf("retry run after a reload that kept its settings = %p, want %p", got, run)
	}
	if strings.Contains(logs.String(), "retry join settings") {
		t.Error("a reload that kept the retry settings logged a change")
	}
}

// Before StartRetryJoin a reload starts nothing; StartRetryJoin then
// takes the retry_join in force.
func TestReloadBeforeStartRetryJoin(t *testing.T) {
	_, addr := target(t, "rl-early-target")
	conf := daemonConfig(t, "rl-early", nil)
	a, _ := startDaemon(t, conf)
	next := MergeConfig(nil, conf)
	next.RetryJoin = []string{addr.String()}
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if a.RetryJoinFailedCh() != nil || currentRun(a) != nil {
		t.Fatal("a reload started the retry join before StartRetryJoin")
	}
	a.StartRetryJoin()
	waitNodes(t, a, 2)
}
