package oracle

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openserf/serf/internal/syncbuf"
	"github.com/openserf/serf/internal/wait"
)

// cliTimeout bounds one client command run by Agent.CLI.
const cliTimeout = 30 * time.Second

// Agent is a "serf agent" child process started by StartAgent. It is
// killed when the test that started it ends.
type Agent struct {
	// RPCAddr is the agent's -rpc-addr, which CLI passes to every command.
	RPCAddr string

	// BindAddr is the agent's -bind address, the one other nodes join.
	BindAddr string

	tb  testing.TB
	bin string
	cmd *exec.Cmd
	out syncbuf.Buffer

	killOnce sync.Once
	exited   chan struct{} // closed once the process has exited
	exitErr  error         // set before exited is closed
}

// StartAgent starts "bin agent args..." and returns without waiting for
// it to be ready; see WaitRPC. If args set no -rpc-addr or no -bind, a
// free port on 127.0.0.1 is added for each, so agents never fall back to
// Serf's fixed default ports. The process's stdout and stderr are kept
// (see Output) and logged if the test fails. The process is killed with
// SIGKILL at the end of the test.
func StartAgent(tb testing.TB, bin string, args ...string) *Agent {
	tb.Helper()
	a := &Agent{
		tb:     tb,
		bin:    bin,
		exited: make(chan struct{}),
	}
	var ok bool
	if a.RPCAddr, ok = flagValue(args, "rpc-addr"); !ok {
		a.RPCAddr = FreeAddr(tb, "127.0.0.1")
		args = append(args, "-rpc-addr="+a.RPCAddr)
	}
	if a.BindAddr, ok = flagValue(args, "bind"); !ok {
		a.BindAddr = FreeAddr(tb, "127.0.0.1")
		args = append(args, "-bind="+a.BindAddr)
	}

	a.cmd = exec.Command(bin, append([]string{"agent"}, args...)...)
	a.cmd.Stdout = &a.out
	a.cmd.Stderr = &a.out
	setDeathSignal(a.cmd)
	if err := a.cmd.Start(); err != nil {
		tb.Fatalf("start %s agent: %v", bin, err)
	}
	go func() {
		a.exitErr = a.cmd.Wait()
		close(a.exited)
	}()

	tb.Cleanup(func() {
		a.Kill()
		if tb.Failed() {
			tb.Logf("serf agent %s output:\n%s", a.RPCAddr, a.Output())
		}
	})
	return a
}

// Kill stops the agent with SIGKILL and waits for it to exit. It is safe
// to call more than once, and after the agent has exited by itself.
func (a *Agent) Kill() {
	a.killOnce.Do(func() {
		select {
		case <-a.exited:
		default:
			a.cmd.Process.Kill()
		}
	})
	<-a.exited
}

// Exited is closed once the agent process has exited, for whatever
// reason; ExitErr then tells how.
func (a *Agent) Exited() <-chan struct{} {
	return a.exited
}

// ExitErr returns the process's exit error (nil for exit status 0). It
// must only be called after Exited is closed.
func (a *Agent) ExitErr() error {
	<-a.exited
	return a.exitErr
}

// Output returns everything the agent has written to stdout and stderr
// so far.
func (a *Agent) Output() string {
	return a.out.String()
}

// Command returns a prepared "serf <args>" command aimed at this agent,
// for callers that need more than CLI gives, such as separate stdout and
// stderr or a long-running "serf monitor". See CLI for how -rpc-addr is
// added.
func (a *Agent) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, a.bin, cliArgs(args, a.RPCAddr)...)
}

// CLI runs "serf <args>" against this agent and returns its combined
// stdout and stderr. -rpc-addr is inserted right after the subcommand
// name (Go flag parsing stops at the first non-flag argument), except for
// the commands that take no -rpc-addr (version, keygen). A non-zero exit
// is returned as an error wrapping *exec.ExitError.
func (a *Agent) CLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := a.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("serf %s: %w", strings.Join(cliArgs(args, a.RPCAddr), " "), err)
	}
	return string(out), nil
}

// WaitRPC waits until "serf members" succeeds against the agent, failing
// the test if that takes longer than timeout or the agent exits first.
func (a *Agent) WaitRPC(timeout time.Duration) {
	a.tb.Helper()
	wait.For(a.tb, timeout, func() error {
		select {
		case <-a.exited:
			a.tb.Fatalf("serf agent exited before its RPC came up: %v\n%s", a.exitErr, a.Output())
		default:
		}
		out, err := a.CLI("members")
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
		}
		return nil
	})
}

// cliArgs returns args with -rpc-addr=addr after the subcommand name.
func cliArgs(args []string, addr string) []string {
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
