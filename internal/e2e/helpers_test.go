package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/cluster"
	"github.com/openserf/serf/internal/oracle"
	"github.com/openserf/serf/internal/syncbuf"
	"github.com/openserf/serf/internal/wait"
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

// oracleCLIVersion is the real Serf whose CLI stands in for subcommands
// our binary does not have yet.
const oracleCLIVersion = "v0.11.0"

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
	return addrs{Name: name, IP: ip, Bind: oracle.FreeAddr(tb, ip), RPC: oracle.FreeAddr(tb, ip)}
}

// args returns the flags that put an agent at a.
func (a addrs) args() []string {
	return []string{"-node=" + a.Name, "-bind=" + a.Bind, "-rpc-addr=" + a.RPC}
}

// agentProc is one "serf agent" process, stopped at test cleanup.
type agentProc struct {
	addrs
	tb  testing.TB
	bin string
	cmd *exec.Cmd
	out syncbuf.Buffer

	stopOnce sync.Once
	exited   chan struct{} // closed once the process has exited
	exitErr  error         // set before exited is closed
}

// spawn runs "bin agent args..." with nothing added and returns without
// waiting. At cleanup the process gets SIGTERM (so that a -race agent
// flushes its reports), then SIGKILL if it is still there, and its output
// is checked for data races and panics and logged if the test failed.
// Handler scripts still running outlive the agent, as in Serf: a test
// whose scripts hang makes them end with it.
func spawn(tb testing.TB, bin string, args ...string) *agentProc {
	tb.Helper()
	return spawnCmd(tb, bin, nil, args...)
}

// spawnCmd is spawn with a function that adjusts the command (its
// directory, its environment) before it starts.
func spawnCmd(tb testing.TB, bin string, adjust func(*exec.Cmd), args ...string) *agentProc {
	tb.Helper()
	p := &agentProc{tb: tb, bin: bin, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"agent"}, args...)...)
	p.cmd.Env = childEnv()
	if adjust != nil {
		adjust(p.cmd)
	}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	setDeathSignal(p.cmd)
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s agent: %v", bin, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.stop()
		out := p.Output()
		if strings.Contains(out, "WARNING: DATA RACE") {
			tb.Errorf("agent %s (%s): data race reported:\n%s", p.Name, p.bin, out)
		} else if strings.Contains(out, "panic: ") || strings.Contains(out, "fatal error: ") {
			tb.Errorf("agent %s (%s) crashed:\n%s", p.Name, p.bin, out)
		} else if tb.Failed() {
			tb.Logf("output of agent %s (%s):\n%s", p.Name, p.bin, out)
		}
	})
	return p
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

// childEnv is the test's environment without SERF_* variables, so that
// neither SERF_RPC_ADDR reaches the CLI nor SERF_INTEROP the handler
// scripts, whose SERF_* variables the tests inspect.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SERF_") {
			env = append(env, kv)
		}
	}
	return env
}

// cliEnv is childEnv for a client command. A -race binary sleeps a
// second before it exits, to flush reports (GORACE atexit_sleep_ms); a
// client need not, and a second between "serf event" calls would defeat
// the coalescing some tests look at.
func cliEnv() []string {
	return append(childEnv(), "GORACE=atexit_sleep_ms=0")
}

// stop ends the process: SIGTERM, then SIGKILL after stopTimeout.
func (p *agentProc) stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
		}
	})
	<-p.exited
}

// Output returns everything the agent printed so far, stdout and stderr.
func (p *agentProc) Output() string { return p.out.String() }

// Mark returns the current end of the output, for Since and WaitSince.
func (p *agentProc) Mark() int { return p.out.Len() }

// Since returns the output printed after mark.
func (p *agentProc) Since(mark int) string { return p.Output()[mark:] }

// Signal sends sig to the agent process.
func (p *agentProc) Signal(sig os.Signal) {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("signal %v to agent %s: %v", sig, p.Name, err)
	}
}

// Kill9 kills the agent with SIGKILL and waits for it to be gone.
func (p *agentProc) Kill9() {
	p.Signal(syscall.SIGKILL)
	<-p.exited
}

// Exited is closed once the process has exited.
func (p *agentProc) Exited() <-chan struct{} { return p.exited }

// WaitExit waits for the process to exit and returns its exit code (-1
// when a signal killed it).
func (p *agentProc) WaitExit(timeout time.Duration) int {
	p.tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.tb.Fatalf("agent %s still running after %v; output:\n%s", p.Name, timeout, p.Output())
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode()
	}
	if p.exitErr != nil {
		p.tb.Fatalf("agent %s: wait: %v", p.Name, p.exitErr)
	}
	return 0
}

// WaitSince waits until the output after mark contains want. It fails at
// once if the agent exits without having printed it.
func (p *agentProc) WaitSince(mark int, timeout time.Duration, want string) {
	p.tb.Helper()
	p.wait(timeout, func() error {
		if !strings.Contains(p.Since(mark), want) {
			return fmt.Errorf("agent %s has not printed %q", p.Name, want)
		}
		return nil
	})
}

// WaitOutput waits until the agent has printed want.
func (p *agentProc) WaitOutput(timeout time.Duration, want string) {
	p.tb.Helper()
	p.WaitSince(0, timeout, want)
}

// WaitMatch waits until the output after mark matches re and returns the
// first match's submatches.
func (p *agentProc) WaitMatch(mark int, timeout time.Duration, re *regexp.Regexp) []string {
	p.tb.Helper()
	var m []string
	p.wait(timeout, func() error {
		if m = re.FindStringSubmatch(p.Since(mark)); m == nil {
			return fmt.Errorf("agent %s has printed nothing matching %s", p.Name, re)
		}
		return nil
	})
	return m
}

// WaitRunning waits until the banner is out and logs stream.
func (p *agentProc) WaitRunning() {
	p.tb.Helper()
	p.WaitOutput(startTimeout, logMarker)
}

// WaitSignalReady waits until the agent surely handles signals. Serf
// (and ours) installs its handlers only after the banner, so a SIGHUP
// right after "Log data will now stream in" can still kill it; the first
// event (its own join, coalesced with whatever followed) is logged about
// a second later.
func (p *agentProc) WaitSignalReady() {
	p.tb.Helper()
	p.WaitOutput(startTimeout, "[INFO] agent: Received event: ")
}

// wait runs cond until it holds; the agent exiting first fails the test
// at once (after one last look, as the output may have just arrived).
func (p *agentProc) wait(timeout time.Duration, cond func() error) {
	p.tb.Helper()
	wait.For(p.tb, timeout, func() error {
		select {
		case <-p.exited:
			if err := cond(); err != nil {
				p.tb.Fatalf("agent %s exited (%v): %v; output:\n%s", p.Name, p.exitErr, err, p.Output())
			}
			return nil
		default:
		}
		return cond()
	})
}

// CLI runs "serf <sub> -rpc-addr=<agent> args..." and returns its combined
// output. Our binary runs it when it has the subcommand, else the real
// Serf CLI does (see cliBin).
func (p *agentProc) CLI(sub string, args ...string) (string, error) {
	p.tb.Helper()
	return runCLI(cliBin(p.tb, sub), sub, append([]string{"-rpc-addr=" + p.RPC}, args...)...)
}

// MustCLI is CLI failing the test on an error.
func (p *agentProc) MustCLI(sub string, args ...string) string {
	p.tb.Helper()
	out, err := p.CLI(sub, args...)
	if err != nil {
		p.tb.Fatalf("%v\n%s", err, out)
	}
	return out
}

// runCLI runs "bin sub args..." with cliTimeout.
func runCLI(bin, sub string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{sub}, args...)...)
	cmd.Env = cliEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s %s: %w", bin, sub, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// ourSubcommands caches, per subcommand name, whether our binary has it.
var ourSubcommands sync.Map

// hasSubcommand reports whether our binary knows "serf <sub>": "-h"
// exits 0 for a command and 127 for an unknown one.
func hasSubcommand(sub string) bool {
	if v, ok := ourSubcommands.Load(sub); ok {
		return v.(bool)
	}
	cmd := exec.Command(serfBin, sub, "-h")
	cmd.Env = cliEnv()
	has := cmd.Run() == nil
	ourSubcommands.Store(sub, has)
	return has
}

// cliBin returns the binary to run "serf <sub>" with: ours if it has the
// subcommand, else the cached real Serf (installed only under
// SERF_INTEROP=1; otherwise the test is skipped).
func cliBin(tb testing.TB, sub string) string {
	tb.Helper()
	if hasSubcommand(sub) {
		return serfBin
	}
	if bin, ok := oracle.Cached(oracleCLIVersion); ok {
		return bin
	}
	if oracle.Interop() {
		return oracle.Binary(tb, oracleCLIVersion)
	}
	tb.Skipf("our serf has no %q subcommand and serf %s is not cached to stand in (SERF_INTEROP=1 installs it)",
		sub, oracleCLIVersion)
	return ""
}

// member is one entry of "serf members -format=json".
type member struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Port   int               `json:"port"`
	Tags   map[string]string `json:"tags"`
	Status string            `json:"status"`
}

// Members returns the agent's member list from "serf members -format=json".
func (p *agentProc) Members() ([]member, error) {
	out, err := p.CLI("members", "-format=json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	var v struct {
		Members []member `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("members -format=json: %w in %q", err, out)
	}
	return v.Members, nil
}

// memberStatuses renders members as "name=status" in order, for messages.
func memberStatuses(ms []member) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name+"="+m.Status)
	}
	return strings.Join(s, " ")
}

// WaitMembers waits until the agent lists exactly the members in want
// (name → status) and returns the list.
func (p *agentProc) WaitMembers(timeout time.Duration, want map[string]string) []member {
	p.tb.Helper()
	var ms []member
	p.wait(timeout, func() error {
		var err error
		if ms, err = p.Members(); err != nil {
			return err
		}
		if len(ms) != len(want) {
			return fmt.Errorf("%s: members = %s, want %v", p.Name, memberStatuses(ms), want)
		}
		for _, m := range ms {
			if want[m.Name] != m.Status {
				return fmt.Errorf("%s: members = %s, want %v", p.Name, memberStatuses(ms), want)
			}
		}
		return nil
	})
	return ms
}

// WaitStatus waits until the agent lists member name with status.
func (p *agentProc) WaitStatus(timeout time.Duration, name, status string) {
	p.tb.Helper()
	p.wait(timeout, func() error {
		ms, err := p.Members()
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Name == name {
				if m.Status != status {
					return fmt.Errorf("%s: %s is %s, want %s", p.Name, name, m.Status, status)
				}
				return nil
			}
		}
		return fmt.Errorf("%s: no member %s in %s", p.Name, name, memberStatuses(ms))
	})
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
