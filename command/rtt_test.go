package command

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/coordinate"
	"github.com/openserf/serf/internal/wait"
)

func TestRTTCommand(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	b := startTestAgent(t, testAgentOptions{Name: "b"})
	joinAgents(t, a, b)
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
			ui := cli.NewMockUi()
			c := &RTTCommand{UI: ui}
			args := append([]string{"-rpc-addr=" + tc.agent.RPCAddr}, tc.args...)
			code := c.Run(args)
			out, errOut := mockText(ui)
			m := estimate.FindStringSubmatch(out)
			if code != 0 || m == nil || m[1] != tc.n1 || m[2] != tc.n2 || errOut != "" {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 0, \"Estimated %s <-> %s rtt: <n> ms\"",
					args, code, out, errOut, tc.n1, tc.n2)
			}
		})
	}

	// The figure is the coordinate package's distance, in milliseconds
	// with three decimals; a fake agent holds the coordinates still.
	c1 := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c2 := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c2.Vec[0] = 0.0012341
	c2.Adjustment = 0.0001
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		var req client.CoordinateRequest
		if h.Command != client.GetCoordinateCommand || fc.body(&req) != nil {
			return false
		}
		resp := &client.CoordinateResponse{Coord: *c1, Ok: true}
		if req.Node == "far" {
			resp.Coord = *c2
		}
		return fc.send(h.Seq, "", resp) == nil
	})
	ui := cli.NewMockUi()
	code := (&RTTCommand{UI: ui}).Run([]string{"-rpc-addr=" + fa.addr, "near", "far"})
	want := fmt.Sprintf("Estimated near <-> far rtt: %.3f ms\n", c1.DistanceTo(c2).Seconds()*1000)
	if want != "Estimated near <-> far rtt: 1.354 ms\n" {
		t.Fatalf("DistanceTo gives %q, want 1.354 ms", want)
	}
	if out, errOut := mockText(ui); code != 0 || out != want || errOut != "" {
		t.Errorf("Run(near far) = %d, output %q, error %q; want 0, %q", code, out, errOut, want)
	}
}

func TestRTTCommandErrors(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	dead, connErr := deadRPCAddr(t)
	help := (&RTTCommand{}).Help()
	usage := "One or two node names must be specified\n\n" + help + "\n"
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no names", []string{"-rpc-addr=" + a.RPCAddr}, usage},
		{"three names", []string{"-rpc-addr=" + a.RPCAddr, "a", "b", "c"}, usage},
		// The connection comes before the names are checked.
		{"no names, no agent", []string{"-rpc-addr=" + dead}, connErr},
		{"unknown first", []string{"-rpc-addr=" + a.RPCAddr, "x"}, "Could not find a coordinate for node \"x\"\n"},
		{"unknown second", []string{"-rpc-addr=" + a.RPCAddr, "a", "x y"},
			"Could not find a coordinate for node \"x y\"\n"},
		{"no token, one name", []string{"-rpc-addr=" + auth.RPCAddr, "a"},
			"Error querying agent: Authentication required\n"},
		{"no token, two names", []string{"-rpc-addr=" + auth.RPCAddr, "a", "b"},
			"Error getting coordinates: Authentication required\n"},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=no", "a"},
			"Error connecting to Serf agent: Invalid authentication token\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			c := &RTTCommand{UI: ui}
			code := c.Run(tc.args)
			out, errOut := mockText(ui)
			if code != 1 || out != "" || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 1, \"\", %q", tc.args, code, out, errOut, tc.wantErr)
			}
		})
	}

	t.Run("bad flag", func(t *testing.T) {
		ui := cli.NewMockUi()
		c := &RTTCommand{UI: ui}
		code := c.Run([]string{"-bogus", "a"})
		out, errOut := mockText(ui)
		if code != 1 || out != help+"\n" || errOut != "" {
			t.Errorf("Run(-bogus) = %d, output %q, error %q; want 1 and the help", code, out, errOut)
		}
	})
}
