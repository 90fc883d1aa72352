package command

import (
	"net"
	"regexp"
	"testing"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

func TestReachabilityCommandLive(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	b := startTestAgent(t, testAgentOptions{Name: "b"})
	joinAgents(t, a, b)

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		ui := cli.NewMockUi()
		c := &ReachabilityCommand{UI: ui}
		code := c.Run([]string{"-rpc-addr=" + a.RPCAddr})
		out, errOut := mockText(ui)
		want := "Total members: 2, live members: 2\nStarting reachability test...\nSuccessfully contacted all live nodes\n"
		if code != 0 || out != want || errOut != "" {
			t.Errorf("Run = %d, output %q, error %q; want 0, %q", code, out, errOut, want)
		}
	})
	t.Run("verbose", func(t *testing.T) {
		t.Parallel()
		ui := cli.NewMockUi()
		c := &ReachabilityCommand{UI: ui}
		code := c.Run([]string{"-rpc-addr=" + b.RPCAddr, "-verbose"})
		out, errOut := mockText(ui)
		want := regexp.MustCompile(`^Total members: 2, live members: 2\nStarting reachability test...\n` +
			`(\tAck from 'a'\n\tAck from 'b'\n|\tAck from 'b'\n\tAck from 'a'\n)` +
			`Query time: \d+\.\d\d sec, time to last response: \d+\.\d\d sec\n` +
			`Successfully contacted all live nodes\n$`)
		if code != 0 || !want.MatchString(out) || errOut != "" {
			t.Errorf("Run(-verbose) = %d, output %q, error %q; want 0 and output matching %s", code, out, errOut, want)
		}
	})
}

// reachAgent is a fake agent for reachability: it reports members and
// acks the ping query from the names in acks, then ends it, unless
// endless is set.
func reachAgent(t *testing.T, members []client.Member, acks []string, endless bool) string {
	t.Helper()
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		switch h.Command {
		case client.MembersCommand:
			return fc.send(h.Seq, "", &client.MembersResponse{Members: members}) == nil
		case client.QueryCommand:
			var req client.QueryRequest
			if fc.body(&req) != nil {
				return false
			}
			if req.Name != "_serf_ping" || !req.RequestAck || req.Payload != nil || req.Timeout != 0 ||
				req.FilterNodes != nil || req.FilterTags != nil {
				t.Errorf("query request = %+v, want a bare _serf_ping with acks", req)
			}
			if fc.send(h.Seq, "", nil) != nil {
				return false
			}
			for _, from := range acks {
				if fc.send(h.Seq, "", &client.QueryRecord{Type: client.QueryRecordAck, From: from}) != nil {
					return false
				}
			}
			if endless {
				return true
			}
			return fc.send(h.Seq, "", &client.QueryRecord{Type: client.QueryRecordDone}) == nil
		}
		return false
	})
	return fa.addr
}

func reachMember(name, status string) client.Member {
	return client.Member{Name: name, Addr: net.IPv4(127, 0, 0, 1).To4(), Port: 7946, Status: status, Tags: map[string]string{}}
}

func TestReachabilityCommandReport(t *testing.T) {
	t.Parallel()
	members := []client.Member{
		reachMember("n1", "alive"), reachMember("n2", "alive"), reachMember("n3", "alive"),
		reachMember("gone", "failed"), reachMember("left", "left"),
	}
	cases := []struct {
		name     string
		acks     []string
		verbose  bool
		wantCode int
		want     string
	}{
		{"all", []string{"n3", "n1", "n2"}, false, 0,
			"Total members: 5, live members: 3\nStarting reachability test...\n" +
				"Successfully contacted all live nodes\n"},
		{"missing", []string{"n2"}, false, 1,
			"Total members: 5, live members: 3\nStarting reachability test...\n" +
				"Received less acks than live nodes! Missing acks from:\n\tn1\n\tn3\n" +
				"This could mean Serf gossip packets are being lost due to a misconfiguration or network issue.\n" +
				"\nTroubleshooting tips:\n" +
				"* Ensure that the bind addr:port is accessible by all other nodes\n" +
				"* If an advertise address is set, ensure it routes to the bind address\n" +
				"* Check that no nodes are behind a NAT\n" +
				"* If nodes are behind firewalls or iptables, check that Serf traffic is permitted (UDP and TCP)\n" +
				"* Verify networking equipment is functional\n"},
		{"extra", []string{"n1", "n2", "n3", "left", "gone"}, false, 1,
			"Total members: 5, live members: 3\nStarting reachability test...\n" +
				"Received more acks than live nodes! Acks from non-live nodes:\n\tgone\n\tleft\n" +
				"This could mean Serf is detecting false-failures due to a misconfiguration or network issue.\n" +
				"\nTroubleshooting tips:\n" +
				"* Ensure that the bind addr:port is accessible by all other nodes\n" +
				"* If an advertise address is set, ensure it routes to the bind address\n" +
				"* Check that no nodes are behind a NAT\n" +
				"* If nodes are behind firewalls or iptables, check that Serf traffic is permitted (UDP and TCP)\n" +
				"* Verify networking equipment is functional\n"},
		// A duplicate counts as an ack: n1 twice and n2 make three.
		{"duplicate", []string{"n1", "n2", "n1"}, true, 1,
			"Total members: 5, live members: 3\nStarting reachability test...\n" +
				"\tAck from 'n1'\n\tAck from 'n2'\n\tAck from 'n1'\nDuplicate response from 'n1'\n" +
				"Query time: X sec, time to last response: X sec\n" +
				"Duplicate responses means there is a misconfiguration. Verify that node names are unique.\n" +
				"Successfully contacted all live nodes\n"},
	}
	times := regexp.MustCompile(`\d+\.\d\d sec`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := reachAgent(t, members, tc.acks, false)
			ui := cli.NewMockUi()
			c := &ReachabilityCommand{UI: ui}
			args := []string{"-rpc-addr=" + addr}
			if tc.verbose {
				args = append(args, "-verbose")
			}
			code := c.Run(args)
			out, errOut := mockText(ui)
			out = times.ReplaceAllString(out, "X sec")
			if code != tc.wantCode || out != tc.want || errOut != "" {
				t.Errorf("Run = %d, output %q, error %q; want %d, %q", code, out, errOut, tc.wantCode, tc.want)
			}
		})
	}
}

func TestReachabilityCommandInterrupt(t *testing.T) {
	t.Parallel()
	addr := reachAgent(t, []client.Member{reachMember("n1", "alive")}, []string{"n1"}, true)
	ui := cli.NewMockUi()
	shutdownCh := make(chan struct{})
	c := &ReachabilityCommand{UI: ui, ShutdownCh: shutdownCh}
	wait := runAsync(c.Run, "-rpc-addr="+addr, "-verbose")
	waitForOutput(t, ui, "\tAck from 'n1'\n")
	close(shutdownCh)
	code := wait(t)
	out, errOut := mockText(ui)
	wantOut := "Total members: 1, live members: 1\nStarting reachability test...\n\tAck from 'n1'\n"
	if code != 1 || out != wantOut || errOut != "Test interrupted\n" {
		t.Errorf("interrupted Run = %d, output %q, error %q; want 1, %q, %q", code, out, errOut, wantOut, "Test interrupted\n")
	}
}

func TestReachabilityCommandErrors(t *testing.T) {
	t.Parallel()
	dead, connErr := deadRPCAddr(t)
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	refuse := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		switch h.Command {
		case client.MembersCommand:
			return fc.send(h.Seq, "", &client.MembersResponse{Members: []client.Member{reachMember("n1", "alive")}}) == nil
		case client.QueryCommand:
			var req client.QueryRequest
			if fc.body(&req) != nil {
				return false
			}
			return fc.send(h.Seq, "Feature not supported", nil) == nil
		}
		return false
	})
	hangup := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		switch h.Command {
		case client.MembersCommand:
			return fc.send(h.Seq, "", &client.MembersResponse{Members: []client.Member{reachMember("n1", "alive")}}) == nil
		case client.QueryCommand:
			var req client.QueryRequest
			if fc.body(&req) == nil {
				_ = fc.send(h.Seq, "", nil)
			}
		}
		return false
	})
	cases := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"no agent", []string{"-rpc-addr=" + dead}, "", connErr},
		{"no token", []string{"-rpc-addr=" + auth.RPCAddr}, "", "Error getting members: Authentication required\n"},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=x"}, "",
			"Error connecting to Serf agent: Invalid authentication token\n"},
		{"query refused", []string{"-rpc-addr=" + refuse.addr}, "Total members: 1, live members: 1\n",
			"Error sending query: Feature not supported\n"},
		{"connection lost", []string{"-rpc-addr=" + hangup.addr},
			"Total members: 1, live members: 1\nStarting reachability test...\n",
			"Error receiving query results: connection to the Serf agent was lost\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			c := &ReachabilityCommand{UI: ui}
			code := c.Run(tc.args)
			out, errOut := mockText(ui)
			if code != 1 || out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 1, %q, %q", tc.args, code, out, errOut, tc.wantOut, tc.wantErr)
			}
		})
	}

	t.Run("bad flag", func(t *testing.T) {
		ui := cli.NewMockUi()
		c := &ReachabilityCommand{UI: ui}
		code := c.Run([]string{"-verbose=maybe"})
		out, errOut := mockText(ui)
		if code != 1 || out != c.Help()+"\n" || errOut != "" {
			t.Errorf("Run(-verbose=maybe) = %d, output %q, error %q; want 1 and the help", code, out, errOut)
		}
	})
}
