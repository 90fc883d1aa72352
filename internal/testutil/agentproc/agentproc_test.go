package agentproc

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
	"go.uber.org/goleak"
)

func TestCLIArgs(t *testing.T) {
	const addr = "127.0.0.9:7373"
	tests := []struct {
		args, want []string
	}{
		{nil, nil},
		{[]string{"members"}, []string{"members", "-rpc-addr=" + addr}},
		{[]string{"members", "-status=alive"}, []string{"members", "-rpc-addr=" + addr, "-status=alive"}},
		{[]string{"event", "deploy", "v1"}, []string{"event", "-rpc-addr=" + addr, "deploy", "v1"}},
		{[]string{"version"}, []string{"version"}},
		{[]string{"keygen"}, []string{"keygen"}},
	}
	for _, tt := range tests {
		if got := CLIArgs(tt.args, addr); !slices.Equal(got, tt.want) {
			t.Errorf("CLIArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestFlagValue(t *testing.T) {
	tests := []struct {
		args  []string
		value string
		found bool
	}{
		{nil, "", false},
		{[]string{"-node", "a"}, "", false},
		{[]string{"-rpc-addr", "1.2.3.4:5"}, "1.2.3.4:5", true},
		{[]string{"--rpc-addr=1.2.3.4:5"}, "1.2.3.4:5", true},
		{[]string{"-rpc-addr=a:1", "-node", "n", "-rpc-addr", "b:2"}, "b:2", true},
		{[]string{"-rpc-addrx=a:1"}, "", false},
		{[]string{"-rpc-addr"}, "", false},
		{[]string{"-config-file", "x.json", "-rpc-addr=a:1"}, "a:1", true},
		{[]string{"--", "-rpc-addr=a:1"}, "", false},
	}
	for _, tt := range tests {
		value, found := flagValue(tt.args, "rpc-addr")
		if value != tt.value || found != tt.found {
			t.Errorf("flagValue(%q) = %q, %v, want %q, %v", tt.args, value, found, tt.value, tt.found)
		}
	}
}

func TestProcessExitCode(t *testing.T) {
	p, err := StartProcess(exec.Command("sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(10 * time.Second); code != 3 || err != nil {
		t.Errorf("Wait() = %d, %v, want 3, nil", code, err)
	}
	if p.Running() {
		t.Errorf("Running() = true after the exit")
	}
}

func TestProcessStopAndKill(t *testing.T) {
	// A process that ignores SIGTERM is killed once the grace is over.
	cmd := exec.Command("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.01; done")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.Read(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Stop(200 * time.Millisecond)
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("Stop() returned after %v, want the 200ms grace first", took)
	}
	if code, err := p.Wait(0); code != -1 || err != nil {
		t.Errorf("Wait() after Stop = %d, %v, want -1 (killed), nil", code, err)
	}
	p.Kill() // after the exit: does nothing
	p.Stop(time.Second)
}

func TestProcessWaitTimeout(t *testing.T) {
	p, err := StartProcess(exec.Command("sleep", "10"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if _, err := p.Wait(10 * time.Millisecond); err == nil {
		t.Errorf("Wait() of a running process = nil error, want one")
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("Signal(SIGKILL) error = %v", err)
	}
	if err := p.ExitErr(); err == nil {
		t.Errorf("ExitErr() after SIGKILL = nil, want the signal")
	}
}

func TestCheckOutput(t *testing.T) {
	for out, bad := range map[string]bool{
		"==> Serf agent running!\n":                false,
		"WARNING: DATA RACE\nWrite at ...":         true,
		"panic: runtime error: index out of range": true,
		"fatal error: concurrent map writes":       true,
	} {
		if err := CheckOutput(out); (err != nil) != bad {
			t.Errorf("CheckOutput(%q) = %v, want an error: %v", out, err, bad)
		}
	}
}

// TestInteropAgentMembers starts each released Serf agent and checks that
// it lists itself as alive. Without SERF_INTEROP=1 it runs only for
// versions already in the cache, so plain "go test" never installs.
func TestInteropAgentMembers(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, _, bin string) {
		const ip = "127.0.0.50"
		ports := oracle.FreePorts(t, ip, 2)
		bind := net.JoinHostPort(ip, strconv.Itoa(ports[0]))
		a := Start(t, bin,
			"-bind", bind,
			"-rpc-addr", net.JoinHostPort(ip, strconv.Itoa(ports[1])),
			"-node", "o1")
		a.WaitRPC(20 * time.Second)

		out, err := a.CLI("members")
		if err != nil {
			t.Fatalf("serf members: %v\n%s", err, out)
		}
		want := regexp.MustCompile(`(?m)^o1\s+` + regexp.QuoteMeta(bind) + `\s+alive\b`)
		if !want.MatchString(out) {
			t.Errorf("serf members = %q, want a line matching %q", out, want)
		}
	})
}

// TestStopEndsHandlers starts an "agent" that leaves a child appending to
// a file in the test's temporary directory, as a real Serf agent's event
// handler may be when the cleanup kills it: after Stop the child is gone,
// so the file stops growing and the directory's removal succeeds.
func TestStopEndsHandlers(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-agent")
	script := "#!/bin/sh\n" +
		"(while :; do echo x >> " + filepath.Join(dir, "events") + "; sleep 0.01; done) &\n" +
		"exec sleep 600\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	a := Start(t, bin, "-bind=127.0.0.1:1", "-rpc-addr=127.0.0.1:1")
	wait.For(t, 10*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "events"))
		return err
	})
	a.Stop()
	before, err := os.ReadFile(filepath.Join(dir, "events"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	// A child still running would recreate the file within its 10 ms loop.
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "events")); err == nil {
		t.Errorf("the agent's child still writes after Stop (%d lines before)", len(before)/2)
	}
}

// The goroutines that copy an agent's output and wait for it end with
// the process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
