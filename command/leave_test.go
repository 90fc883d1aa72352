package command

import (
	"fmt"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

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
	a, b := startPair(t, testAgentOptions{Name: "leave-a"}, testAgentOptions{Name: "leave-b"})

	args := []string{"-rpc-addr=" + a.RPCAddr}
	runWithUI(t, named("leave"), args...).check(t, args, cmdResult{out: "Graceful leave complete\n"})

	select {
	case <-a.Agent.ShutdownCh():
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after leave")
	}
	waitMemberStatus(t, b, "leave-a", "left")

	// The test's RPC server outlives the agent (a real agent's process
	// exits), so a second leave reaches the agent and fails.
	runWithUI(t, named("leave"), args...).check(t, args, failure("Error leaving: Leave called after Shutdown"))
}

func TestLeaveCommandErrors(t *testing.T) {
	addr, msg := refusedRPCAddr(t)
	runCases(t, named("leave"), nil, []cmdCase{
		{"no agent", []string{"-rpc-addr=" + addr}, failure(msg)},
		{"unknown flag", []string{"-bogus"}, showsHelp(helpOf("leave"))},
	})
}
