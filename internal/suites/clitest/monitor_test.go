package clitest

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
)

// TestMonitorMultiLineLogEntry checks what "serf monitor" gets for a log
// message that spans several lines: a failed join logs
//
//	[WARN] agent: error joining: 1 error occurred:
//		* failed to join 127.0.0.1:1: dial tcp ...: connection refused
//	(empty line)
//
// in one write. Serf's agent keeps and streams that write as ONE log
// record, so the level filter sees its [WARN] tag and no record is empty.
// Serf's CLI takes an empty record for the end of the stream. Each case
// runs against Serf's agent too, as a control.
func TestMonitorMultiLineLogEntry(t *testing.T) {
	t.Parallel()
	real := oracle.Available(t, oracle.Versions[0])
	for _, agent := range []struct{ name, bin string }{{"real-agent", real}, {"our-agent", ourBin}} {
		t.Run(agent.name, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, agent.bin, "a")
			a.WaitRPC(startTimeout)
			if res := runCLI(t, ourBin, a.RPCAddr, nil, "join", "127.0.0.1:1"); res.Code != 1 {
				t.Fatalf("serf join 127.0.0.1:1 = %s, want exit 1", res)
			}

			// Serf's CLI must keep monitoring after replaying the entry: a
			// line logged later still shows.
			t.Run("serf-cli", func(t *testing.T) {
				mon := startMonitor(t, real, a.RPCAddr)
				mon.waitFor(t, "* failed to join 127.0.0.1:1")
				runCLI(t, ourBin, a.RPCAddr, nil, "members", "-name=(")
				mon.waitFor(t, "[ERR] agent.ipc: Failed to evaluate request: Failed to compile regex")
			})

			// At -log-level=err the whole WARN entry is filtered, its
			// continuation lines included.
			t.Run("level-filter", func(t *testing.T) {
				mon := startMonitor(t, ourBin, a.RPCAddr, "-log-level=err")
				runCLI(t, ourBin, a.RPCAddr, nil, "members", "-name=(")
				mon.waitFor(t, "[ERR] agent.ipc: Failed to evaluate request: Failed to compile regex")
				if out := mon.stdout.String(); strings.Contains(out, "failed to join") {
					t.Errorf("serf monitor -log-level=err shows part of a WARN message:\n%s", out)
				}
			})
		})
	}
}

// monitorProc is a running "serf monitor".
type monitorProc struct {
	proc           *agentproc.Process
	stdout, stderr syncbuf.Buffer
}

// startMonitor runs "bin monitor -rpc-addr=rpcAddr args..." until the
// test ends or interrupt, then interrupts it as Ctrl-C would.
func startMonitor(t *testing.T, bin, rpcAddr string, args ...string) *monitorProc {
	t.Helper()
	m := &monitorProc{}
	cmd := exec.Command(bin, append([]string{"monitor", "-rpc-addr=" + rpcAddr}, args...)...)
	cmd.Env = agentproc.CLIEnv()
	cmd.Stdout, cmd.Stderr = &m.stdout, &m.stderr
	agentproc.SetDeathSignal(cmd, false)
	var err error
	if m.proc, err = agentproc.StartProcess(cmd); err != nil {
		t.Fatalf("start serf monitor: %v", err)
	}
	t.Cleanup(func() { m.interrupt() })
	return m
}

// interrupt sends SIGINT, waits for the monitor to exit and returns its
// exit code. A monitor that ignores the interrupt is killed (exit -1).
func (m *monitorProc) interrupt() int {
	if m.proc.Running() {
		_ = m.proc.Signal(syscall.SIGINT)
	}
	code, err := m.proc.Wait(5 * time.Second)
	if err != nil {
		m.proc.Kill()
		return -1
	}
	return code
}

// until waits until ok accepts the monitor's stdout, and returns an error
// if that has not happened within eventTimeout or the monitor exits
// first.
func (m *monitorProc) until(what string, ok func(stdout string) bool) error {
	var exitErr error
	err := wait.Until(eventTimeout, func() error {
		if ok(m.stdout.String()) {
			return nil
		}
		select {
		case <-m.proc.Exited():
			// Stop polling: nothing more will come.
			exitErr = fmt.Errorf("serf monitor exited (%v) before printing %s:\n%s%s", m.proc.ExitErr(), what, m.stdout.String(), m.stderr.String())
			return nil
		default:
		}
		return fmt.Errorf("serf monitor has not printed %s:\n%s%s", what, m.stdout.String(), m.stderr.String())
	})
	if exitErr != nil {
		return exitErr
	}
	return err
}

// waitFor waits until the monitor has printed s, failing the test if it
// does not.
func (m *monitorProc) waitFor(t *testing.T, s string) {
	t.Helper()
	if err := m.until(fmt.Sprintf("%q", s), func(out string) bool { return strings.Contains(out, s) }); err != nil {
		t.Fatal(err)
	}
}
