package clitest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
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
// our agent may be built with -race, and handler events wait out Serf's
// coalescing (1 s quiet, 3 s at most).
const (
	cliTimeout   = 30 * time.Second // one CLI command
	startTimeout = 30 * time.Second // an agent answering RPC
	joinTimeout  = 20 * time.Second // gossip reaching every member
	eventTimeout = 20 * time.Second // an event reaching a handler script
	failTimeout  = 30 * time.Second // a killed peer seen as failed (local profile)
	exitTimeout  = 15 * time.Second // an agent exiting after leave or SIGINT
)

// realBin returns the released Serf binary of version, skipping the test
// when it is not cached, unless SERF_INTEROP=1 asks for it to be
// installed (or the test to fail).
func realBin(tb testing.TB, version string) string {
	tb.Helper()
	if _, ok := oracle.Cached(version); !ok && !oracle.Interop() {
		tb.Skipf("serf %s is not cached in the oracle directory (SERF_INTEROP=1 installs it)", version)
	}
	return oracle.Binary(tb, version)
}

// result is what one CLI command did.
type result struct {
	Code   int // exit status
	Stdout string
	Stderr string
}

// String shows a result in failure messages.
func (r result) String() string {
	return "exit " + strconv.Itoa(r.Code) + "\n[stdout]\n" + r.Stdout + "[stderr]\n" + r.Stderr
}

// runCLI runs "bin args..." with -rpc-addr=rpcAddr inserted after the
// subcommand (flag parsing stops at the first positional argument), if
// rpcAddr is not empty. The
// environment is the test's without SERF_* variables, plus env. A command
// that cannot start or outlives cliTimeout fails the test.
func runCLI(tb testing.TB, bin, rpcAddr string, env []string, args ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	if rpcAddr != "" {
		args = withRPCAddr(args, rpcAddr)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cliEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		tb.Fatalf("serf %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		tb.Fatalf("serf %s: still running after %v\n%s%s", strings.Join(args, " "), cliTimeout, stdout.String(), stderr.String())
	}
	return result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}

// withRPCAddr returns args with -rpc-addr=addr after the subcommand name.
func withRPCAddr(args []string, addr string) []string {
	out := make([]string, 0, len(args)+1)
	out = append(out, args[0], "-rpc-addr="+addr)
	return append(out, args[1:]...)
}

// cliEnv is the test's environment without SERF_* variables, so that
// neither SERF_RPC_ADDR nor SERF_RPC_AUTH of whoever runs the tests
// reaches a command, plus extra. A -race build of ours sleeps a second
// before exiting to flush race reports (GORACE atexit_sleep_ms); a client
// command need not, and that second made every step with our CLI slow.
func cliEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SERF_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GORACE=atexit_sleep_ms=0")
	return append(env, extra...)
}

// startAgent starts "bin agent" named name with the local profile on a
// fresh 127.0.0.x address (gossip and RPC ports free on it) and extra
// flags. It does not wait for the agent: see oracle.Agent.WaitRPC. At
// cleanup the agent is killed and its output checked for data races and
// panics.
func startAgent(tb testing.TB, bin, name string, extra ...string) *oracle.Agent {
	tb.Helper()
	ip := cluster.IP()
	args := append([]string{
		"-node=" + name,
		"-bind=" + uniquePortAddr(tb, ip),
		"-rpc-addr=" + oracle.FreeAddr(tb, ip),
		"-profile=local",
	}, extra...)
	a := oracle.StartAgent(tb, bin, args...)
	// Registered after StartAgent's own cleanup, so it runs first.
	tb.Cleanup(func() {
		a.Kill()
		checkCrash(tb, name, a.Output())
	})
	return a
}

// bindPorts are the gossip ports startAgent has handed out. Agents are on
// different addresses, so the kernel may give two of them the same port
// number; the normalizer names a port by its number, and a shared one
// would turn a's port into b's in one run and not in another.
var bindPorts = struct {
	sync.Mutex
	used map[string]bool
}{used: map[string]bool{}}

// uniquePortAddr returns a free "ip:port" whose port no earlier agent of
// this test binary was given.
func uniquePortAddr(tb testing.TB, ip string) string {
	tb.Helper()
	bindPorts.Lock()
	defer bindPorts.Unlock()
	for {
		addr := oracle.FreeAddr(tb, ip)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			tb.Fatalf("SplitHostPort(%q) error: %v", addr, err)
		}
		if !bindPorts.used[port] {
			bindPorts.used[port] = true
			return addr
		}
	}
}

// checkCrash fails the test if an agent's output reports a data race or a
// crash.
func checkCrash(tb testing.TB, name, out string) {
	tb.Helper()
	if strings.Contains(out, "WARNING: DATA RACE") {
		tb.Errorf("agent %s: data race reported:\n%s", name, out)
	} else if strings.Contains(out, "panic: ") || strings.Contains(out, "fatal error: ") {
		tb.Errorf("agent %s crashed:\n%s", name, out)
	}
}

// ipOf returns the host part of "ip:port".
func ipOf(tb testing.TB, addr string) string {
	tb.Helper()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("SplitHostPort(%q) error: %v", addr, err)
	}
	return host
}

// commonPort returns a port that was free for TCP and UDP on every one of
// ips a moment ago, so that agents on different addresses can share it
// and be joined by bare IP, as Serf fills in its own port.
func commonPort(tb testing.TB, ips ...string) int {
	tb.Helper()
	for try := 0; try < 50; try++ {
		port := oracle.FreePort(tb, ips[0])
		ok := true
		for _, ip := range ips[1:] {
			if !portFree(ip, port) {
				ok = false
				break
			}
		}
		if ok {
			return port
		}
	}
	tb.Fatalf("no port free on all of %v", ips)
	return 0
}

// portFree reports whether ip:port can be bound for both TCP and UDP.
func portFree(ip string, port int) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// writeScript writes an executable shell script.
func writeScript(tb testing.TB, path, body string) string {
	tb.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeFile writes a plain file.
func writeFile(tb testing.TB, path, body string) string {
	tb.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// readFile returns the content of path, "" when it does not exist yet.
func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatal(err)
	}
	return string(b)
}

// proc is a "serf agent" process with separate stdout and stderr, for
// the tests that read the banner and send signals.
type proc struct {
	name   string
	tb     testing.TB
	cmd    *exec.Cmd
	stdout syncbuf.Buffer
	stderr syncbuf.Buffer

	exited  chan struct{} // closed once the process has exited
	exitErr error         // set before exited is closed
}

// startProc runs "bin agent args..." in dir (the test's working directory
// when empty) with the environment of cliEnv(env...). It is killed at
// cleanup and its output checked for races.
func startProc(tb testing.TB, bin, dir string, env []string, name string, args ...string) *proc {
	tb.Helper()
	p := &proc{name: name, tb: tb, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"agent"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = cliEnv(env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start agent %s: %v", name, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		out := p.stdout.String() + p.stderr.String()
		checkCrash(tb, name, out)
		if tb.Failed() {
			tb.Logf("agent %s stdout:\n%s\nstderr:\n%s", name, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// waitStdout waits until the agent's stdout satisfies ok, failing the
// test with what is there if it does not within timeout or the agent
// exits first.
func (p *proc) waitStdout(timeout time.Duration, what string, ok func(string) bool) {
	p.tb.Helper()
	wait.For(p.tb, timeout, func() error {
		out := p.stdout.String()
		if ok(out) {
			return nil
		}
		select {
		case <-p.exited:
			p.tb.Fatalf("agent %s exited (%v) before printing %s", p.name, p.exitErr, what)
		default:
		}
		return errors.New("agent " + p.name + " has not printed " + what)
	})
}

// waitExit waits for the process to exit and returns its exit code.
func (p *proc) waitExit(timeout time.Duration) int {
	p.tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.tb.Fatalf("agent %s still running after %v", p.name, timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}
