package agent

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

const serfDownLine = "[WARN] agent: Serf shutdown detected, quitting"

// mustReturnWithin is how long a check that something does not return
// (yet) gives it: far more than a Shutdown that does not wait takes.
const mustReturnWithin = 300 * time.Millisecond

// startAgent creates and starts an agent on a test serf config, logging
// into the returned buffer, and shuts it down at cleanup.
func startAgent(t testing.TB, sc *serf.Config) (*Agent, *cluster.SafeBuffer) {
	t.Helper()
	return startAgentWith(t, sc, Options{})
}

// startAgentWith is startAgent with agent options, its log also written
// to more (such as the LogRing an RPC server serves monitors from). It is
// the one in-process agent of this package's tests.
func startAgentWith(t testing.TB, sc *serf.Config, opts Options, more ...io.Writer) (*Agent, *cluster.SafeBuffer) {
	t.Helper()
	logs := &cluster.SafeBuffer{}
	a, err := Create(sc, opts, io.MultiWriter(append([]io.Writer{logs}, more...)...))
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

// holdingHandler keeps the event loop in its first HandleEvent until
// released.
type holdingHandler struct {
	once        sync.Once
	entered     chan struct{}
	release     chan struct{}
	releaseOnce sync.Once
}

// unblock lets the held HandleEvent return.
func (h *holdingHandler) unblock() { h.releaseOnce.Do(func() { close(h.release) }) }

func newHoldingHandler() *holdingHandler {
	return &holdingHandler{entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdingHandler) HandleEvent(serf.Event) {
	h.once.Do(func() {
		close(h.entered)
		<-h.release
	})
}

// Shutdown returns only once the event loop has: a handler still running
// holds it up.
func TestShutdownWaitsForEventLoop(t *testing.T) {
	a, _ := startAgent(t, cluster.Config("loop"))
	h := newHoldingHandler()
	defer h.unblock() // also when the test fails, for its cleanup
	a.RegisterEventHandler(h)
	if err := a.UserEvent("hold", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached the handler in 10s")
	}

	done := make(chan error, 1)
	go func() { done <- a.Shutdown() }()
	select {
	case <-done:
		t.Fatal("Shutdown() returned while the event loop was still in a handler")
	case <-time.After(mustReturnWithin):
	}
	h.unblock()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown() error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown() still waiting 10s after the handler returned")
	}
	select {
	case <-a.loopDone:
	default:
		t.Error("event loop still running after Shutdown() returned")
	}
}

// A Start that fails leaves nothing running, not even a Serf node when it
// is the handler specs that are wrong.
func TestFailedStartLeavesNothingRunning(t *testing.T) {
	logs := &cluster.SafeBuffer{}
	a, err := Create(cluster.Config("badspec"), Options{EventHandlers: []string{"bogus=x.sh"}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start()
	if want := "Invalid event script: Event 'bogus' invoking 'x.sh'"; err == nil || err.Error() != want {
		t.Fatalf("Start() error = %v, want %s", err, want)
	}
	if s := a.Serf(); s != nil {
		if state := s.State(); state != serf.SerfShutdown {
			_ = s.Shutdown()
			t.Errorf("Serf left %v after a failed Start", state)
		}
	}
	select {
	case <-a.ShutdownCh():
	default:
		t.Error("ShutdownCh() open after a failed Start")
	}
	if err := a.Shutdown(); err != nil {
		t.Errorf("Shutdown() after a failed Start: %v", err)
	}
}

// A graceful leave the caller stopped waiting for (a second Ctrl-C, or
// its deadline) is the agent's: Shutdown cuts it short and returns only
// once its goroutine has ended.
func TestShutdownWaitsForGracefulLeave(t *testing.T) {
	c := cluster.New(t, "gl", 1, nil)
	sc := cluster.Config("gl-leaver")
	sc.LeavePropagateDelay = time.Hour // the leave would take that long
	a, _ := startAgent(t, sc)
	if _, err := a.Join([]string{c.Nodes[0].Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	left := a.GracefulLeave()
	wait.For(t, 10*time.Second, func() error {
		if got := a.Serf().State(); got != serf.SerfLeaving {
			return fmt.Errorf("State() = %v, want leaving", got)
		}
		return nil
	})
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	select {
	case err := <-left:
		if err != nil {
			t.Errorf("leave cut short by Shutdown = %v, want nil", err)
		}
	default:
		t.Fatal("the graceful leave still runs after Shutdown() returned")
	}
	if err := <-a.GracefulLeave(); !errors.Is(err, serf.ErrLeaveAfterShutdown) {
		t.Errorf("GracefulLeave() after Shutdown = %v, want %v", err, serf.ErrLeaveAfterShutdown)
	}
}

// Shutdown is safe from several goroutines, and each returns only when
// everything has stopped.
func TestConcurrentShutdown(t *testing.T) {
	a, _ := startAgent(t, cluster.Config("conc"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Shutdown(); err != nil {
				t.Errorf("Shutdown() error: %v", err)
			}
			select {
			case <-a.loopDone:
			default:
				t.Error("Shutdown() returned before the event loop exited")
			}
		}()
	}
	wg.Wait()
}
