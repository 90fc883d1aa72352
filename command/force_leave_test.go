package command

import (
	"testing"
	"time"

	"github.com/openserf/serf/serf"
)

// failedPeer starts two agents, stops the second without leaving and
// returns the first once it sees the second as failed.
func failedPeer(t *testing.T, prefix string) (*testAgent, string) {
	t.Helper()
	a, b := startPair(t, testAgentOptions{Name: prefix + "-a"}, testAgentOptions{Name: prefix + "-b"})
	if err := b.Agent.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	waitMemberStatus(t, a, b.Agent.Serf().LocalMember().Name, "failed")
	return a, prefix + "-b"
}

func TestForceLeaveCommand(t *testing.T) {
	t.Run("failed member becomes left", func(t *testing.T) {
		a, peer := failedPeer(t, "fl")
		args := []string{"-rpc-addr=" + a.RPCAddr, peer}
		runWithUI(t, named("force-leave"), args...).check(t, args, cmdResult{})
		waitMemberStatus(t, a, peer, "left")
	})
	t.Run("prune erases it", func(t *testing.T) {
		a, peer := failedPeer(t, "flp")
		args := []string{"-rpc-addr=" + a.RPCAddr, "-prune", peer}
		runWithUI(t, named("force-leave"), args...).check(t, args, cmdResult{})
		waitMemberStatus(t, a, peer, "")
	})
	t.Run("unknown member", func(t *testing.T) {
		a := startTestAgent(t, testAgentOptions{Name: "fl-alone"})
		for _, args := range [][]string{
			{"-rpc-addr=" + a.RPCAddr, "nobody"},
			{"-rpc-addr=" + a.RPCAddr, "-prune", "nobody"},
		} {
			runWithUI(t, named("force-leave"), args...).check(t, args, cmdResult{})
		}
	})
}

func TestForceLeaveCommandErrors(t *testing.T) {
	// A broadcast timeout far below one gossip interval makes every
	// force-leave time out while another member is alive.
	a, _ := startPair(t, testAgentOptions{Name: "fl-timeout", Tweak: func(c *serf.Config) {
		c.BroadcastTimeout = time.Nanosecond
	}}, testAgentOptions{Name: "fl-timeout-b"})
	addr, msg := refusedRPCAddr(t)
	help := helpOf("force-leave")
	noName := usage("A node name must be specified to force leave.", help)
	timedOut := failure("Error force leaving: timed out broadcasting node removal")
	runCases(t, named("force-leave"), nil, []cmdCase{
		{"timeout", []string{"-rpc-addr=" + a.RPCAddr, "nobody"}, timedOut},
		{"timeout prune", []string{"-rpc-addr=" + a.RPCAddr, "-prune", "nobody"}, timedOut},
		{"no name", []string{"-rpc-addr=" + a.RPCAddr}, noName},
		{"two names", []string{"-rpc-addr=" + a.RPCAddr, "x", "y"}, noName},
		{"no agent", []string{"-rpc-addr=" + addr, "x"}, failure(msg)},
		{"unknown flag", []string{"-bogus"}, showsHelp(help)},
	})
}
