package docker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run entry-point.sh outside any container, with the
// machine's sh (dash on Debian), as PID 1 would be sent signals in a
// container. They need no Docker and run with every go test.

// hostSerf builds, once for the package, a serf binary for the machine;
// TestMain removes it at the end.
var hostSerf = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "serf-entry-point-")
	if err != nil {
		return "", err
	}
	hostSerfDir.Store(&dir)
	bin := filepath.Join(dir, "serf")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/serf").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

var hostSerfDir atomic.Pointer[string]

// entryPoint is one run of entry-point.sh, in a process group of its own.
type entryPoint struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

// startEntryPoint runs `sh entry-point.sh args...` with an agent alone on
// 127.0.0.1. At the end of the test whatever is left of its process group
// is killed.
func startEntryPoint(t *testing.T, args ...string) *entryPoint {
	t.Helper()
	bin, err := hostSerf()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "serf.log")
	cmd := exec.Command("sh", append([]string{"entry-point.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "SERF_BIN="+bin, "SERF_LOG="+log,
		"SERF_AGENT_OPT=-node=entry-point -bind=127.0.0.1:0 -rpc-addr=127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ep := &entryPoint{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		ep.err = cmd.Wait()
		close(ep.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-ep.exited
		if t.Failed() {
			t.Logf("agent log:\n%s", tail(log, 30))
		}
	})
	return ep
}

// waitRunning waits for the agent's banner in its log.
func (ep *entryPoint) waitRunning(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, func() error {
		b, _ := os.ReadFile(ep.log)
		if !strings.Contains(string(b), "==> Serf agent running!") {
			return errors.New("the agent has not started")
		}
		return nil
	})
}

// wantExit waits for the entry point to exit with code want, within
// timeout, and for its process group (the agent, the command) to be gone.
func (ep *entryPoint) wantExit(t *testing.T, timeout time.Duration, want int) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ep.exited:
	case <-time.After(timeout):
		t.Fatalf("the entry point did not exit within %v", timeout)
	}
	took := time.Since(start)
	code := 0
	var exitErr *exec.ExitError
	if errors.As(ep.err, &exitErr) {
		code = exitErr.ExitCode()
	} else if ep.err != nil {
		t.Fatal(ep.err)
	}
	if code != want {
		t.Errorf("entry point exit code = %d, want %d", code, want)
	}
	waitFor(t, 5*time.Second, func() error {
		if err := syscall.Kill(-ep.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			return errors.New("processes of the entry point are still running after it exited")
		}
		return nil
	})
	return took
}

// wantGracefulLeave checks the agent's log for its graceful shutdown.
func (ep *entryPoint) wantGracefulLeave(t *testing.T) {
	t.Helper()
	b, _ := os.ReadFile(ep.log)
	if !strings.Contains(string(b), "==> Gracefully shutting down agent...") {
		t.Errorf("agent log lacks the graceful shutdown:\n%s", b)
	}
}

// A SIGTERM or SIGINT to the entry point (what docker stop and docker
// kill -s INT send to PID 1) ends the command and the agent leaves, in a
// second or two, not when the command would have ended.
func TestEntryPointStopsOnSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		// sleep, started in the background, ignores SIGINT: it gets
		// SIGTERM instead, hence 143 again.
		{"SIGINT", syscall.SIGINT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep := startEntryPoint(t, "sleep", "1000")
			ep.waitRunning(t)
			if err := ep.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			took := ep.wantExit(t, stopBudget, 143)
			t.Logf("stopped in %.2f s", took.Seconds())
			ep.wantGracefulLeave(t)
		})
	}
}

// A stop that comes as soon as the entry point has set its traps, while
// the agent is still starting and has no SIGINT handler yet, is not lost:
// the agent leaves or never joins, and nothing is left running.
func TestEntryPointEarlySignal(t *testing.T) {
	ep := startEntryPoint(t, "sleep", "1000")
	waitFor(t, 10*time.Second, func() error {
		if !catches(ep.cmd.Process.Pid, syscall.SIGTERM) {
			return errors.New("the entry point has no SIGTERM trap yet")
		}
		return nil
	})
	if err := ep.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ep.wantExit(t, 15*time.Second, 143)
}

// catches tells whether process pid has a handler for sig, from the
// SigCgt mask in /proc/PID/status.
func catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			bits, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err == nil && bits&(1<<(sig-1)) != 0
		}
	}
	return false
}

// The container exits with its command's status, after the leave.
func TestEntryPointKeepsExitStatus(t *testing.T) {
	done := filepath.Join(t.TempDir(), "done")
	ep := startEntryPoint(t, "sh", "-c", `until [ -e "$0" ]; do sleep 0.05; done; exit 7`, done)
	ep.waitRunning(t)
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ep.wantExit(t, 15*time.Second, 7)
	ep.wantGracefulLeave(t)
}

// The command reads the entry point's standard input, although it runs in
// the background.
func TestEntryPointPassesStdin(t *testing.T) {
	bin, err := hostSerf()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "entry-point.sh", "cat")
	cmd.Env = append(os.Environ(), "SERF_BIN="+bin, "SERF_LOG="+filepath.Join(t.TempDir(), "serf.log"),
		"SERF_AGENT_OPT=-node=entry-point -bind=127.0.0.1:0 -rpc-addr=127.0.0.1:0")
	cmd.Stdin = strings.NewReader("hello from stdin\n")
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hello from stdin\n" {
		t.Errorf("cat printed %q, want %q", out, "hello from stdin\n")
	}
}
