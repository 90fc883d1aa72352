package command

import (
	"strings"
	"testing"
)

func TestJoinCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "join-a"})
	b := startTestAgent(t, testAgentOptions{Name: "join-b"})
	c := startTestAgent(t, testAgentOptions{Name: "join-c"})
	help := helpOf("join")

	runCases(t, named("join"), []string{"-rpc-addr=" + a.RPCAddr}, []cmdCase{
		{"one address", []string{b.Addr}, cmdResult{out: "Successfully joined cluster by contacting 1 nodes.\n"}},
		{"replay, two addresses", []string{"-replay", b.Addr, c.Addr},
			cmdResult{out: "Successfully joined cluster by contacting 2 nodes.\n"}},
		{"no address", nil, usage("At least one address to join must be specified.", help)},
		{"unknown flag", []string{"-bogus"}, showsHelp(help)},
	})
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
	runWithUI(t, named("join"), args...).check(t, args, cmdResult{code: 1, err: want})

	args = []string{"-rpc-addr=" + addr, a.Addr}
	runWithUI(t, named("join"), args...).check(t, args, failure(msg))

	// A name that cannot resolve.
	args = []string{"-rpc-addr=" + a.RPCAddr, "/x"}
	r := runWithUI(t, named("join"), args...)
	if r.code != 1 || !strings.HasPrefix(r.err, "Error joining the cluster: 1 error occurred:\n\t* failed to resolve /x: ") {
		t.Errorf("Run(%q) = %d, %q, want 1 and a resolve error", args, r.code, r.err)
	}
}
