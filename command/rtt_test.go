package command

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/coordinate"
	"github.com/openserf/serf/internal/testutil/wait"
)

func TestRTTCommand(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, testAgentOptions{Name: "a"}, testAgentOptions{Name: "b"})
	// Coordinates of the other node come with the first ping acks.
	for _, ag := range []*testAgent{a, b} {
		wait.For(t, 20*time.Second, func() error {
			for _, n := range []string{"a", "b"} {
				if _, ok := ag.Agent.Serf().GetCachedCoordinate(n); !ok {
					return fmt.Errorf("no coordinate for %s yet", n)
				}
			}
			return nil
		})
	}

	estimate := regexp.MustCompile(`^Estimated (\S+) <-> (\S+) rtt: \d+\.\d{3} ms\n$`)
	cases := []struct {
		name   string
		agent  *testAgent
		args   []string
		n1, n2 string
	}{
		{"two names", a, []string{"a", "b"}, "a", "b"},
		{"reversed", a, []string{"b", "a"}, "b", "a"},
		{"one name is the agent's", a, []string{"b"}, "b", "a"},
		{"asked of the other agent", b, []string{"a"}, "a", "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + tc.agent.RPCAddr}, tc.args...)
			r := runWithUI(t, named("rtt"), args...)
			m := estimate.FindStringSubmatch(r.out)
			if r.code != 0 || m == nil || m[1] != tc.n1 || m[2] != tc.n2 || r.err != "" {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 0, \"Estimated %s <-> %s rtt: <n> ms\"",
					args, r.code, r.out, r.err, tc.n1, tc.n2)
			}
		})
	}

	// The figure is the coordinate package's distance, in milliseconds
	// with three decimals; a fake agent holds the coordinates still.
	c1 := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c2 := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c2.Vec[0] = 0.0012341
	c2.Adjustment = 0.0001
	fa := startFakeAgent(t, answer(client.GetCoordinateCommand, func(fc *fakeConn, seq uint64, req *client.CoordinateRequest) bool {
		resp := &client.CoordinateResponse{Coord: *c1, Ok: true}
		if req.Node == "far" {
			resp.Coord = *c2
		}
		return fc.send(seq, "", resp) == nil
	}))
	want := fmt.Sprintf("Estimated near <-> far rtt: %.3f ms\n", c1.DistanceTo(c2).Seconds()*1000)
	if want != "Estimated near <-> far rtt: 1.354 ms\n" {
		t.Fatalf("DistanceTo gives %q, want 1.354 ms", want)
	}
	args := []string{"-rpc-addr=" + fa.addr, "near", "far"}
	runWithUI(t, named("rtt"), args...).check(t, args, cmdResult{out: want})
}

func TestRTTCommandErrors(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	dead, connErr := refusedRPCAddr(t)
	help := helpOf("rtt")
	names := usage("One or two node names must be specified", help)
	runCases(t, named("rtt"), nil, []cmdCase{
		{"no names", []string{"-rpc-addr=" + a.RPCAddr}, names},
		{"three names", []string{"-rpc-addr=" + a.RPCAddr, "a", "b", "c"}, names},
		// The connection comes before the names are checked.
		{"no names, no agent", []string{"-rpc-addr=" + dead}, failure(connErr)},
		{"unknown first", []string{"-rpc-addr=" + a.RPCAddr, "x"}, failure("Could not find a coordinate for node \"x\"")},
		{"unknown second", []string{"-rpc-addr=" + a.RPCAddr, "a", "x y"},
			failure("Could not find a coordinate for node \"x y\"")},
		{"no token, one name", []string{"-rpc-addr=" + auth.RPCAddr, "a"},
			failure("Error querying agent: Authentication required")},
		{"no token, two names", []string{"-rpc-addr=" + auth.RPCAddr, "a", "b"},
			failure("Error getting coordinates: Authentication required")},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=no", "a"}, failure(badToken)},
		{"bad flag", []string{"-bogus", "a"}, showsHelp(help)},
	})
}
