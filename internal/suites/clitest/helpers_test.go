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
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
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
		args = agentproc.CLIArgs(args, rpcAddr)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = agentproc.CLIEnv(env...)
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

// startAgent starts "bin agent" named name with the local profile on a
// fresh 127.0.0.x address (gossip and RPC ports free on it) and extra
// flags. It does not wait for the agent: see agentproc.Agent.WaitRPC.
func startAgent(tb testing.TB, bin, name string, extra ...string) *agentproc.Agent {
	tb.Helper()
	ip := cluster.IP()
	args := append([]string{
		"-node=" + name,
		"-bind=" + uniquePortAddr(tb, ip),
		"-rpc-addr=" + oracle.FreeAddr(tb, ip),
		"-profile=local",
	}, extra...)
	return agentproc.Start(tb, bin, args...)
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

// startProc runs "bin agent args..." in dir (the test's working directory
// when empty) with env added to its environment, keeping its stdout and
// stderr apart, for the tests that read the banner and send signals.
func startProc(tb testing.TB, bin, dir string, env []string, args ...string) *agentproc.Agent {
	tb.Helper()
	return agentproc.StartWith(tb, bin, agentproc.Options{Dir: dir, Env: env, Separate: true}, args...)
}

// waitStdout waits until the agent's stdout satisfies ok, failing the
// test with what is there if it does not within timeout or the agent
// exits first.
func waitStdout(a *agentproc.Agent, timeout time.Duration, what string, ok func(string) bool) {
	a.WaitFor(timeout, func() error {
		if !ok(a.Stdout()) {
			return errors.New("agent has not printed " + what)
		}
		return nil
	})
}
