package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

func threadSlack(t *testing.T) time.Duration {
	t.Helper()
	v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		t.Fatalf("PR_GET_TIMERSLACK: %v", errno)
	}
	return time.Duration(v)
}

func setThreadSlack(t *testing.T, d time.Duration) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d), 0); errno != 0 {
		t.Fatalf("PR_SET_TIMERSLACK: %v", errno)
	}
}

// TestSetTimerSlackKeepsAChosenSlack: a process started with a slack of
// its own (systemd's TimerSlackNSec=) keeps it.
func TestSetTimerSlackKeepsAChosenSlack(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadSlack(t)
	defer setThreadSlack(t, before)
	setThreadSlack(t, 300*time.Microsecond)
	setTimerSlack(agentTimerSlack)
	if got := threadSlack(t); got != 300*time.Microsecond {
		t.Errorf("slack %v after setTimerSlack, want the chosen 300µs", got)
	}
}

// TestAgentTimerSlack starts the real agent and reads the slack of each
// of its threads: the agent's setting on every one when run as root (the
// others may only change their own), and a slack its parent chose is
// left alone.
func TestAgentTimerSlack(t *testing.T) {
	bin := serfbin.Path(t)
	slacks := func(pid int) map[string]string {
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/" + task.Name() + "/timerslack_ns")
			if err == nil {
				out[task.Name()] = strings.TrimSpace(string(b))
			}
		}
		return out
	}
	start := func(t *testing.T, slack time.Duration) int {
		t.Helper()
		cmd := exec.Command(bin, "agent", "-node", "slack", "-bind", "127.0.0.1:0", "-rpc-addr", "127.0.0.1:0")
		if slack > 0 {
			// The child takes the slack of the thread that starts it.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := threadSlack(t)
			setThreadSlack(t, slack)
			defer setThreadSlack(t, before)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd.Process.Pid
	}
	want := func(t *testing.T, pid int, every, main string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := slacks(pid)
			ok := len(got) > 1
			for tid, v := range got {
				w := every
				if tid == strconv.Itoa(pid) {
					w = main
				}
				ok = ok && v == w
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("thread slacks %v, want %s (main thread %s)", got, every, main)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ms := strconv.FormatInt(agentTimerSlack.Nanoseconds(), 10)
	t.Run("set", func(t *testing.T) {
		pid := start(t, 0)
		if os.Geteuid() != 0 {
			t.Skip("only root may set the slack of the agent's other threads")
		}
		want(t, pid, ms, ms)
	})
	t.Run("chosen", func(t *testing.T) {
		pid := start(t, 200*time.Microsecond)
		want(t, pid, "200000", "200000")
	})
}
