package clitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/oracle"
	"github.com/openserf/serf/internal/syncbuf"
	"github.com/openserf/serf/internal/wait"
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
	real := realBin(t, oracle.Versions[0])
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
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr syncbuf.Buffer
	exited         chan struct{}
}

// startMonitor runs "bin monitor -rpc-addr=rpcAddr args..." until the
// test ends or interrupt, then interrupts it as Ctrl-C would.
func startMonitor(t *testing.T, bin, rpcAddr string, args ...string) *monitorProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	m := &monitorProc{cancel: cancel, exited: make(chan struct{})}
	m.cmd = exec.CommandContext(ctx, bin, append([]string{"monitor", "-rpc-addr=" + rpcAddr}, args...)...)
	m.cmd.Env = cliEnv()
	m.cmd.Cancel = func() error { return m.cmd.Process.Signal(os.Interrupt) }
	m.cmd.WaitDelay = 5 * time.Second
	m.cmd.Stdout, m.cmd.Stderr = &m.stdout, &m.stderr
	if err := m.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start serf monitor: %v", err)
	}
	go func() {
		m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() { m.interrupt() })
	return m
}

// interrupt sends SIGINT, waits for the monitor to exit and returns its
// exit code.
func (m *monitorProc) interrupt() int {
	m.cancel()
	<-m.exited
	return m.cmd.ProcessState.ExitCode()
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
		case <-m.exited:
			// Stop polling: nothing more will come.
			exitErr = fmt.Errorf("serf monitor exited (%v) before printing %s:\n%s%s", m.cmd.ProcessState, what, m.stdout.String(), m.stderr.String())
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
