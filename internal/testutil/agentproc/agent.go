package agentproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
)

// cliTimeout bounds one client command run by Agent.CLI.
const cliTimeout = 30 * time.Second

// groupTimeout bounds the wait for an agent's handler scripts to be gone
// once it has exited.
const groupTimeout = 5 * time.Second

// Options tune StartWith. The zero Options run the agent in the test's
// working directory with Env(), its stdout and stderr kept together, and
// SIGKILL at cleanup.
type Options struct {
	// Dir is the agent's working directory; empty means the test's.
	Dir string
	// Env is added to Env() for the agent.
	Env []string
	// Separate keeps stdout and stderr apart, for Stdout and Stderr.
	// Otherwise both go to one pipe, in the order they were written.
	Separate bool
	// Grace, when not zero, makes the cleanup send SIGTERM first and
	// SIGKILL only if the agent is still there after Grace: a -race agent
	// flushes its reports when it exits by itself.
	Grace time.Duration
}

// Agent is a "serf agent" child process owned by one test.
type Agent struct {
	// Bin is the serf binary the agent runs.
	Bin string
	// RPCAddr is the agent's -rpc-addr, which CLI passes to every command.
	RPCAddr string
	// BindAddr is the agent's -bind address, the one other nodes join.
	BindAddr string
	// CLIBin is the serf binary CLI and Command run; Bin when empty. A
	// suite that tests our CLI sets it to ours for real Serf agents too.
	CLIBin string

	tb     testing.TB
	name   string // the -node flag, or the RPC address, for messages
	grace  time.Duration
	proc   *Process
	out    syncbuf.Buffer // stdout and stderr, unless Separate
	stderr syncbuf.Buffer // with Separate; out then holds stdout only
}

// Start is StartWith with the zero Options.
func Start(tb testing.TB, bin string, args ...string) *Agent {
	tb.Helper()
	return StartWith(tb, bin, Options{}, args...)
}

// StartWith starts "bin agent args..." and returns without waiting for it
// to be ready (see WaitRPC and WaitOutput). If args set no -rpc-addr or no
// -bind, a free port on 127.0.0.1 is added for each, so that agents never
// fall back to Serf's fixed default ports. At cleanup the agent is
// stopped, and the test fails if its output reports a data race or a
// crash; a failed test logs the output.
func StartWith(tb testing.TB, bin string, o Options, args ...string) *Agent {
	tb.Helper()
	a := &Agent{Bin: bin, tb: tb, grace: o.Grace}
	var ok bool
	if a.RPCAddr, ok = flagValue(args, "rpc-addr"); !ok {
		a.RPCAddr = oracle.FreeAddr(tb, "127.0.0.1")
		args = append(args, "-rpc-addr="+a.RPCAddr)
	}
	if a.BindAddr, ok = flagValue(args, "bind"); !ok {
		a.BindAddr = oracle.FreeAddr(tb, "127.0.0.1")
		args = append(args, "-bind="+a.BindAddr)
	}
	if a.name, ok = flagValue(args, "node"); !ok {
		a.name = a.RPCAddr
	}

	cmd := exec.Command(bin, append([]string{"agent"}, args...)...)
	cmd.Dir = o.Dir
	cmd.Env = Env(o.Env...)
	cmd.Stdout, cmd.Stderr = &a.out, &a.out
	if o.Separate {
		cmd.Stderr = &a.stderr
	}
	SetDeathSignal(cmd, true)
	// A handler script that outlives the agent may hold its output pipe:
	// the agent's exit is what Stop waits for, not the pipe's end.
	cmd.WaitDelay = time.Second
	p, err := StartProcess(cmd)
	if err != nil {
		tb.Fatalf("start %s agent: %v", bin, err)
	}
	a.proc = p

	tb.Cleanup(func() {
		a.Stop()
		out := a.Output()
		if err := CheckOutput(out); err != nil {
			tb.Errorf("agent %s (%s): %v:\n%s", a.name, bin, err, out)
		} else if tb.Failed() {
			tb.Logf("output of agent %s (%s):\n%s", a.name, bin, out)
		}
	})
	return a
}

// CheckOutput returns an error if a serf process's output reports a data
// race or a crash.
func CheckOutput(out string) error {
	switch {
	case strings.Contains(out, "WARNING: DATA RACE"):
		return fmt.Errorf("data race reported")
	case strings.Contains(out, "panic: ") || strings.Contains(out, "fatal error: "):
		return fmt.Errorf("crashed")
	}
	return nil
}

// Env is the test's environment without SERF_* variables, plus extra: a
// SERF_RPC_ADDR of whoever runs the tests must not reach a command, nor
// SERF_INTEROP the handler scripts, whose SERF_* variables tests read.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SERF_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// CLIEnv is Env for a client command. A -race binary sleeps a second
// before it exits, to flush its reports (GORACE atexit_sleep_ms); a
// client need not, and a second between two "serf event" calls would
// defeat the coalescing some tests look at. Agents keep the default.
func CLIEnv(extra ...string) []string {
	var env []string
	for _, kv := range Env() {
		if !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "GORACE=atexit_sleep_ms=0"), extra...)
}

// Output returns everything the agent has printed so far: stdout and
// stderr as they came, or with Separate stdout followed by stderr.
func (a *Agent) Output() string { return a.out.String() + a.stderr.String() }

// Stdout returns what the agent has printed on stdout (with Separate; on
// both otherwise).
func (a *Agent) Stdout() string { return a.out.String() }

// Stderr returns what the agent has printed on stderr, with Separate.
func (a *Agent) Stderr() string { return a.stderr.String() }

// Mark returns the current end of the output, for Since and WaitSince.
func (a *Agent) Mark() int { return a.out.Len() }

// Since returns the output printed after mark (stdout only, with
// Separate).
func (a *Agent) Since(mark int) string { return a.out.String()[mark:] }

// Pid is the agent's process ID.
func (a *Agent) Pid() int { return a.proc.Pid() }

// Exited is closed once the agent has exited, for whatever reason.
func (a *Agent) Exited() <-chan struct{} { return a.proc.Exited() }

// ExitErr waits for the agent to exit and returns how it did (nil for
// exit status 0).
func (a *Agent) ExitErr() error { return a.proc.ExitErr() }

// WaitExit waits for the agent to exit and returns its exit code, -1 when
// a signal killed it. It fails the test if the agent is still running
// after timeout.
func (a *Agent) WaitExit(timeout time.Duration) int {
	a.tb.Helper()
	code, err := a.proc.Wait(timeout)
	if err != nil {
		a.tb.Fatalf("agent %s: %v; output:\n%s", a.name, err, a.Output())
	}
	return code
}

// Signal sends sig to the agent, failing the test if that fails.
func (a *Agent) Signal(sig syscall.Signal) {
	a.tb.Helper()
	if err := a.proc.Signal(sig); err != nil {
		a.tb.Fatalf("signal %v to agent %s: %v", sig, a.name, err)
	}
}

// Kill stops the agent with SIGKILL, as a crash would, and waits for it
// to exit; handler scripts left in its process group are killed too. It
// is safe to call more than once, and after the agent has exited by
// itself.
func (a *Agent) Kill() {
	a.proc.KillGroup(groupTimeout)
	a.proc.Kill()
}

// Stop ends the agent as the cleanup does: SIGKILL, or with Options.Grace
// SIGTERM first. It waits for the exit, then for the handler scripts left
// in its process group, and may be called more than once.
func (a *Agent) Stop() {
	if a.grace > 0 {
		a.proc.Stop(a.grace)
	}
	a.proc.KillGroup(groupTimeout)
	a.proc.Kill()
}

// WaitFor polls cond until it holds (see wait.For). The agent exiting
// first fails the test at once, after one last look, as what cond waits
// for may just have been printed.
func (a *Agent) WaitFor(timeout time.Duration, cond func() error) {
	a.tb.Helper()
	wait.For(a.tb, timeout, func() error {
		if a.proc.Running() {
			return cond()
		}
		if err := cond(); err != nil {
			a.tb.Fatalf("agent %s exited (%v): %v; output:\n%s", a.name, a.proc.ExitErr(), err, a.Output())
		}
		return nil
	})
}

// WaitSince waits until the output after mark contains want.
func (a *Agent) WaitSince(mark int, timeout time.Duration, want string) {
	a.tb.Helper()
	a.WaitFor(timeout, func() error {
		if !strings.Contains(a.Since(mark), want) {
			return fmt.Errorf("agent %s has not printed %q", a.name, want)
		}
		return nil
	})
}

// WaitOutput waits until the agent has printed want.
func (a *Agent) WaitOutput(timeout time.Duration, want string) {
	a.tb.Helper()
	a.WaitSince(0, timeout, want)
}

// WaitMatch waits until the output after mark matches re and returns the
// first match's submatches.
func (a *Agent) WaitMatch(mark int, timeout time.Duration, re *regexp.Regexp) []string {
	a.tb.Helper()
	var m []string
	a.WaitFor(timeout, func() error {
		if m = re.FindStringSubmatch(a.Since(mark)); m == nil {
			return fmt.Errorf("agent %s has printed nothing matching %s", a.name, re)
		}
		return nil
	})
	return m
}

// WaitRPC waits until "serf members" succeeds against the agent.
func (a *Agent) WaitRPC(timeout time.Duration) {
	a.tb.Helper()
	a.WaitFor(timeout, func() error {
		out, err := a.CLI("members")
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
		}
		return nil
	})
}

// Command returns a prepared "serf <args>" command (of CLIBin) aimed at
// the agent, with CLIEnv, for callers that need more than CLI gives,
// such as separate stdout and stderr or a long-running "serf monitor".
// See CLI for where -rpc-addr goes.
func (a *Agent) Command(ctx context.Context, args ...string) *exec.Cmd {
	bin := a.CLIBin
	if bin == "" {
		bin = a.Bin
	}
	cmd := exec.CommandContext(ctx, bin, CLIArgs(args, a.RPCAddr)...)
	cmd.Env = CLIEnv()
	return cmd
}

// CLI runs "serf <args>" (of CLIBin) against the agent and returns
// its combined stdout and stderr. -rpc-addr is inserted right after the
// subcommand name (Go flag parsing stops at the first non-flag argument),
// except for the commands that take none (version, keygen). A non-zero
// exit is returned as an error wrapping *exec.ExitError.
func (a *Agent) CLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := a.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("serf %s: %w", strings.Join(CLIArgs(args, a.RPCAddr), " "), err)
	}
	return string(out), nil
}

// MustCLI is CLI failing the test on an error.
func (a *Agent) MustCLI(args ...string) string {
	a.tb.Helper()
	out, err := a.CLI(args...)
	if err != nil {
		a.tb.Fatalf("%v\n%s", err, out)
	}
	return out
}

// CLIArgs returns args with -rpc-addr=addr after the subcommand name,
// unless the subcommand takes no -rpc-addr (version, keygen).
func CLIArgs(args []string, addr string) []string {
	if len(args) == 0 {
		return args
	}
	switch args[0] {
	case "version", "keygen":
		return args
	}
	out := make([]string, 0, len(args)+1)
	out = append(out, args[0], "-rpc-addr="+addr)
	return append(out, args[1:]...)
}

// flagValue finds the value of the flag name in agent args: one or two
// leading dashes, the value after "=" or in the next argument; a later
// setting wins. "serf agent" takes no positional arguments, so anything
// else is skipped rather than ending the scan as the flag package would.
func flagValue(args []string, name string) (string, bool) {
	var (
		value string
		found bool
	)
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		if !strings.HasPrefix(arg, "-") {
			continue
		}
		arg = strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		key, v, hasValue := strings.Cut(arg, "=")
		if key != name {
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				break
			}
			i++
			v = args[i]
		}
		value, found = v, true
	}
	return value, found
}
