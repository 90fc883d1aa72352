package command

import (
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/serf"
)

func newForceLeave(ui cli.Ui) cli.Command { return &ForceLeaveCommand{UI: ui} }

// failedPeer starts two agents, stops the second without leaving and
// returns the first once it sees the second as failed.
func failedPeer(t *testing.T, prefix string) (a *testAgent, peer string) {
	t.Helper()
	a = startTestAgent(t, testAgentOptions{Name: prefix + "-a"})
	b := startTestAgent(t, testAgentOptions{Name: prefix + "-b"})
	joinAgents(t, a, b)
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
		runWithUI(t, newForceLeave, args...).check(t, args, cmdResult{})
		waitMemberStatus(t, a, peer, "left")
	})
	t.Run("prune erases it", func(t *testing.T) {
		a, peer := failedPeer(t, "flp")
		args := []string{"-rpc-addr=" + a.RPCAddr, "-prune", peer}
		runWithUI(t, newForceLeave, args...).check(t, args, cmdResult{})
		waitMemberStatus(t, a, peer, "")
	})
	t.Run("unknown member", func(t *testing.T) {
		a := startTestAgent(t, testAgentOptions{Name: "fl-alone"})
		for _, args := range [][]string{
			{"-rpc-addr=" + a.RPCAddr, "nobody"},
			{"-rpc-addr=" + a.RPCAddr, "-prune", "nobody"},
		} {
			runWithUI(t, newForceLeave, args...).check(t, args, cmdResult{})
		}
	})
}

func TestForceLeaveCommandErrors(t *testing.T) {
	// A broadcast timeout far below one gossip interval makes every
	// force-leave time out while another member is alive.
	a := startTestAgent(t, testAgentOptions{Name: "fl-timeout", Tweak: func(c *serf.Config) {
		c.BroadcastTimeout = time.Nanosecond
	}})
	b := startTestAgent(t, testAgentOptions{Name: "fl-timeout-b"})
	joinAgents(t, a, b)
	addr, msg := refusedRPCAddr(t)
	help := (&ForceLeaveCommand{}).Help()
	usage := "A node name must be specified to force leave.\n\n" + help + "\n"

	tests := []struct {
		name string
		args []string
		want cmdResult
	}{
		{"timeout", []string{"-rpc-addr=" + a.RPCAddr, "nobody"},
			cmdResult{code: 1, err: "Error force leaving: timed out broadcasting node removal\n"}},
		{"timeout prune", []string{"-rpc-addr=" + a.RPCAddr, "-prune", "nobody"},
			cmdResult{code: 1, err: "Error force leaving: timed out broadcasting node removal\n"}},
		{"no name", []string{"-rpc-addr=" + a.RPCAddr}, cmdResult{code: 1, err: usage}},
		{"two names", []string{"-rpc-addr=" + a.RPCAddr, "x", "y"}, cmdResult{code: 1, err: usage}},
		{"no agent", []string{"-rpc-addr=" + addr, "x"}, cmdResult{code: 1, err: msg + "\n"}},
		{"unknown flag", []string{"-bogus"}, cmdResult{code: 1, out: help + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runWithUI(t, newForceLeave, tt.args...).check(t, tt.args, tt.want)
		})
	}
}
