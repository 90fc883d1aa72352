package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// Deadlines. They are generous: two cores run the whole package at once,
// and handler events wait out Serf's coalescing (1 s quiet, 3 s at most).
const (
	startTimeout = 30 * time.Second // start to "Log data will now stream in"
	eventTimeout = 20 * time.Second // an event reaching a handler script
	failTimeout  = 30 * time.Second // a dead peer shown as failed (local profile)
	exitTimeout  = 15 * time.Second // a signalled or failing agent exiting
	cliTimeout   = 30 * time.Second // one CLI command
	stopTimeout  = 5 * time.Second  // SIGTERM at cleanup before SIGKILL

	// convergeTimeout bounds how long members that did not join each
	// other directly take to learn of each other. Gossip over UDP usually
	// takes well under a second, but when two agents join the same one at
	// once a lost or early alive message can leave it to the next
	// push/pull, up to twice the local profile's 15 s interval away (real
	// Serf does the same).
	convergeTimeout = 45 * time.Second
)

// logMarker ends the banner; log lines follow it.
const logMarker = "==> Log data will now stream in as it occurs:"

// addrs are where one agent listens: its own 127.0.0.x address with a
// free gossip port, and a free RPC port on the same address.
type addrs struct {
	Name string
	IP   string
	Bind string // IP:port, the -bind address others join
	RPC  string // IP:port, the -rpc-addr
}

func newAddrs(tb testing.TB, name string) addrs {
	tb.Helper()
	ip := cluster.IP()
	a := oracle.FreeAddrs(tb, ip, 2)
	return addrs{Name: name, IP: ip, Bind: a[0], RPC: a[1]}
}

// args returns the flags that put an agent at a.
func (a addrs) args() []string {
	return []string{"-node=" + a.Name, "-bind=" + a.Bind, "-rpc-addr=" + a.RPC}
}

// agentProc is one "serf agent" process at its addresses. Its client
// commands (CLI, Members, the waits on them) run our serf, whatever
// binary the agent runs.
type agentProc struct {
	*agentproc.Agent
	addrs
}

// spawn runs "bin agent args..." and returns without waiting. At cleanup
// the process gets SIGTERM (so that a -race agent flushes its reports),
// then SIGKILL if it is still there after stopTimeout, and its output is
// checked for data races and panics and logged if the test failed.
// Handler scripts still running outlive the agent, as in Serf: a test
// whose scripts hang makes them end with it.
func spawn(tb testing.TB, bin string, args ...string) *agentProc {
	tb.Helper()
	return spawnIn(tb, bin, "", nil, args...)
}

// spawnIn is spawn with the working directory dir (the test's when
// empty) and env added to the environment.
func spawnIn(tb testing.TB, bin, dir string, env []string, args ...string) *agentProc {
	tb.Helper()
	a := agentproc.StartWith(tb, bin, agentproc.Options{Dir: dir, Env: env, Grace: stopTimeout}, args...)
	a.CLIBin = serfBin
	return &agentProc{Agent: a, addrs: addrs{RPC: a.RPCAddr, Bind: a.BindAddr}}
}

// startAgentAt starts "bin agent" at a with the local profile and extra
// flags (later flags win), without waiting for it to come up.
func startAgentAt(tb testing.TB, bin string, a addrs, extra ...string) *agentProc {
	tb.Helper()
	args := append(a.args(), "-profile=local")
	p := spawn(tb, bin, append(args, extra...)...)
	p.addrs = a
	return p
}

// startNode starts our agent named name on fresh addresses with the local
// profile and extra flags, and waits until it logs.
func startNode(tb testing.TB, name string, extra ...string) *agentProc {
	tb.Helper()
	p := startAgentAt(tb, serfBin, newAddrs(tb, name), extra...)
	p.WaitRunning()
	return p
}

// WaitRunning waits until the banner is out and logs stream.
func (p *agentProc) WaitRunning() {
	p.WaitOutput(startTimeout, logMarker)
}

// WaitSignalReady waits until the agent surely handles signals. Serf
// (and ours) installs its handlers only after the banner, so a SIGHUP
// right after "Log data will now stream in" can still kill it; the first
// event (its own join, coalesced with whatever followed) is logged about
// a second later.
func (p *agentProc) WaitSignalReady() {
	p.WaitOutput(startTimeout, "[INFO] agent: Received event: ")
}

// runCLI runs "bin sub args..." with cliTimeout and returns its combined
// output.
func runCLI(bin, sub string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{sub}, args...)...)
	cmd.Env = agentproc.CLIEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s %s: %w", bin, sub, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// writeFile writes content to path, failing the test on an error. It
// writes a temporary file and renames it, so that an agent reloading its
// configuration at that moment reads the old or the new content, never
// half of it.
func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// writeScript writes an executable /bin/sh script named name into dir
// and returns its path.
func writeScript(tb testing.TB, dir, name, body string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}

// readLines returns the complete lines of path; a missing file has none.
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	} else {
		return nil
	}
	return strings.Split(string(data), "\n")
}

// waitLines waits until path holds at least n complete lines and returns
// them all.
func waitLines(tb testing.TB, path string, n int, timeout time.Duration) []string {
	tb.Helper()
	var lines []string
	wait.For(tb, timeout, func() error {
		if lines = readLines(path); len(lines) < n {
			return fmt.Errorf("%s has %d lines %q, want %d", filepath.Base(path), len(lines), lines, n)
		}
		return nil
	})
	return lines
}
