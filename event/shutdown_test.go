//go:build unix

package event

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
	"go.uber.org/goleak"
)

// TestRunnerShutdownLeavesScriptRunning shuts a Runner down while a
// script runs: Shutdown returns at once and leaves no goroutine behind,
// and the script runs to its end, as in Serf, where the agent exits
// without waiting for its scripts. Until this process exits, its writes
// to stdout and stderr succeed; its input is there to read.
func TestRunnerShutdownLeavesScriptRunning(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	dir := t.TempDir()
	block, release := hold(t, dir)
	script := "touch " + path(dir, "started") + "; " + block + "\n" +
		"echo out; echo \"stdout $?\" >> " + path(dir, "result") + "\n" +
		"echo err >&2; echo \"stderr $?\" >> " + path(dir, "result") + "\n" +
		"cat > " + path(dir, "stdin") + "\n" +
		"touch " + path(dir, "done")
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "user:deploy="+script)})
	r.Handle(userEvent("deploy", 1, "payload"))
	waitFile(t, filepath.Join(dir, "started"))

	start := time.Now()
	r.Shutdown()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v with a script running", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Fatal("the script ended before it was released")
	}
	// Nothing of the Runner waits for the script any more.
	goleak.VerifyNone(t, ignore)

	release()
	waitFile(t, filepath.Join(dir, "done"))
	if got, want := waitLines(t, filepath.Join(dir, "result"), 2), []string{"stdout 0", "stderr 0"}; !slices.Equal(got, want) {
		t.Errorf("writes after Shutdown: %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(dir, "stdin")); got != "payload\n" {
		t.Errorf("stdin read after Shutdown = %q, want %q", got, "payload\n")
	}
	want := "[INFO] agent: Script '" + script + "' still running at shutdown, left to run to its end\n"
	if got := logs.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}
}

// TestRunnerShutdownLeftBehindOutput shuts a Runner down while a script
// has exited but a process it started in the background still holds its
// output: that process too runs on, and can write.
func TestRunnerShutdownLeftBehindOutput(t *testing.T) {
	dir := t.TempDir()
	block, release := hold(t, dir)
	script := "(" + block + "; echo late; echo \"stdout $?\" > " + path(dir, "result") + ") &\n" +
		"touch " + path(dir, "started")
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "user="+script)})
	r.Handle(userEvent("e", 1, ""))
	waitFile(t, filepath.Join(dir, "started"))
	r.Shutdown()
	release()
	if got, want := waitLines(t, filepath.Join(dir, "result"), 1), []string{"stdout 0"}; !slices.Equal(got, want) {
		t.Errorf("background write after Shutdown: %q, want %q", got, want)
	}
	if strings.Contains(logs.String(), "[ERR]") {
		t.Errorf("log has errors:\n%s", logs)
	}
}

// TestRunnerShutdownEndsTimeout checks that the Timeout, which kills
// scripts while the Runner runs, no longer applies to a script left
// running at Shutdown.
func TestRunnerShutdownEndsTimeout(t *testing.T) {
	dir := t.TempDir()
	script := "touch " + path(dir, "started") + "; sleep 1.5; touch " + path(dir, "done")
	r, logs := startRunner(t, RunnerConfig{Timeout: time.Second, Specs: specs(t, "user="+script)})
	r.Handle(userEvent("e", 1, ""))
	waitFile(t, filepath.Join(dir, "started"))
	r.Shutdown()
	waitFile(t, filepath.Join(dir, "done"))
	if strings.Contains(logs.String(), "killed") {
		t.Errorf("script killed after Shutdown; log:\n%s", logs)
	}
}

// TestRunnerShutdownAbandonsQuery checks that no handler answers a
// query once the Runner has shut down with an earlier handler for it
// running, as in Serf, whose event loop never gets past that script.
func TestRunnerShutdownAbandonsQuery(t *testing.T) {
	dir := t.TempDir()
	r, logs, resp, release := slowFirst(t, "q", "touch "+path(dir, "started"), 2*time.Second)
	waitFile(t, filepath.Join(dir, "started"))
	logs.waitFor(t, "script output: fast\n", 1)
	r.Shutdown()
	release()
	for nr := range resp.ResponseCh() {
		t.Errorf("response %q after Shutdown", nr.Payload)
	}
	if strings.Contains(logs.String(), "Failed to respond") {
		t.Errorf("log tells of responses after Shutdown:\n%s", logs)
	}
}

// waitFile waits until name exists.
func waitFile(tb testing.TB, name string) {
	tb.Helper()
	wait.For(tb, waitTimeout, func() error {
		_, err := os.Stat(name)
		return err
	})
}
