package command

import (
	"strings"
	"testing"

	"github.com/hashicorp/cli"
)

func newJoin(ui cli.Ui) cli.Command { return &JoinCommand{UI: ui} }

func TestJoinCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "join-a"})
	b := startTestAgent(t, testAgentOptions{Name: "join-b"})
	c := startTestAgent(t, testAgentOptions{Name: "join-c"})
	help := (&JoinCommand{}).Help()

	tests := []struct {
		name string
		args []string
		want cmdResult
	}{
		{"one address", []string{b.Addr}, cmdResult{out: "Successfully joined cluster by contacting 1 nodes.\n"}},
		{"replay, two addresses", []string{"-replay", b.Addr, c.Addr},
			cmdResult{out: "Successfully joined cluster by contacting 2 nodes.\n"}},
		{"no address", nil, cmdResult{code: 1,
			err: "At least one address to join must be specified.\n\n" + help + "\n"}},
		{"unknown flag", []string{"-bogus"}, cmdResult{code: 1, out: help + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + a.RPCAddr}, tt.args...)
			runWithUI(t, newJoin, args...).check(t, args, tt.want)
		})
	}
	if n := a.Agent.Serf().NumNodes(); n != 3 {
		t.Errorf("NumNodes() after the joins = %d, want 3", n)
	}
}

func TestJoinCommandErrors(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "join-err"})
	addr, msg := refusedRPCAddr(t)

	// Nothing listens on the gossip address either: memberlist's
	// multierror text, with its two trailing blank lines, is printed as is.
	args := []string{"-rpc-addr=" + a.RPCAddr, addr}
	want := "Error joining the cluster: 1 error occurred:\n\t* failed to join " + addr +
		": dial tcp " + addr + ": connect: connection refused\n\n\n"
	runWithUI(t, newJoin, args...).check(t, args, cmdResult{code: 1, err: want})

	args = []string{"-rpc-addr=" + addr, a.Addr}
	runWithUI(t, newJoin, args...).check(t, args, cmdResult{code: 1, err: msg + "\n"})

	// A name that cannot resolve.
	args = []string{"-rpc-addr=" + a.RPCAddr, "/x"}
	r := runWithUI(t, newJoin, args...)
	if r.code != 1 || !strings.HasPrefix(r.err, "Error joining the cluster: 1 error occurred:\n\t* failed to resolve /x: ") {
		t.Errorf("Run(%q) = %d, %q, want 1 and a resolve error", args, r.code, r.err)
	}
}
