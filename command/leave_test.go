package command

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/internal/wait"
)

func newLeave(ui cli.Ui) cli.Command { return &LeaveCommand{UI: ui} }

// memberStatus returns the status ta's agent has for the member name, or
// "" when it does not know it.
func memberStatus(ta *testAgent, name string) string {
	for _, m := range ta.Agent.Serf().Members() {
		if m.Name == name {
			return m.Status.String()
		}
	}
	return ""
}

// waitMemberStatus waits until ta sees name with status want ("" for
// not known at all).
func waitMemberStatus(t testing.TB, ta *testAgent, name, want string) {
	t.Helper()
	wait.For(t, 20*time.Second, func() error {
		if got := memberStatus(ta, name); got != want {
			return fmt.Errorf("status of %s = %q, want %q", name, got, want)
		}
		return nil
	})
}

func TestLeaveCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "leave-a"})
	b := startTestAgent(t, testAgentOptions{Name: "leave-b"})
	joinAgents(t, a, b)

	args := []string{"-rpc-addr=" + a.RPCAddr}
	runWithUI(t, newLeave, args...).check(t, args, cmdResult{out: "Graceful leave complete\n"})

	select {
	case <-a.Agent.ShutdownCh():
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after leave")
	}
	waitMemberStatus(t, b, "leave-a", "left")

	// The test's RPC server outlives the agent (a real agent's process
	// exits), so a second leave reaches the agent and fails.
	runWithUI(t, newLeave, args...).check(t, args,
		cmdResult{code: 1, err: "Error leaving: Leave called after Shutdown\n"})
}

func TestLeaveCommandErrors(t *testing.T) {
	addr, msg := refusedRPCAddr(t)
	help := (&LeaveCommand{}).Help()
	tests := []struct {
		name string
		args []string
		want cmdResult
	}{
		{"no agent", []string{"-rpc-addr=" + addr}, cmdResult{code: 1, err: msg + "\n"}},
		{"unknown flag", []string{"-bogus"}, cmdResult{code: 1, out: help + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runWithUI(t, newLeave, tt.args...).check(t, tt.args, tt.want)
		})
	}
}
