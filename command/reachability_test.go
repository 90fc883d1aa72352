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
	a, b := startPair(t, testAgentOptions{Name: "a"}, testAgentOptions{Name: "b"})

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		args := []string{"-rpc-addr=" + a.RPCAddr}
		runWithUI(t, newReachability, args...).check(t, args, cmdResult{out: "Total members: 2, live members: 2\n" +
			"Starting reachability test...\nSuccessfully contacted all live nodes\n"})
	})
	t.Run("verbose", func(t *testing.T) {
		t.Parallel()
		r := runWithUI(t, newReachability, "-rpc-addr="+b.RPCAddr, "-verbose")
		code, out, errOut := r.code, r.out, r.err
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
// hands the ping query to ping, which answers it.
func reachAgent(t *testing.T, members []client.Member, ping func(fc *fakeConn, seq uint64) bool) string {
	t.Helper()
	query := answer(client.QueryCommand, func(fc *fakeConn, seq uint64, req *client.QueryRequest) bool {
		if req.Name != "_serf_ping" || !req.RequestAck || req.Payload != nil || req.Timeout != 0 ||
			req.FilterNodes != nil || req.FilterTags != nil {
			t.Errorf("query request = %+v, want a bare _serf_ping with acks", req)
		}
		return ping(fc, seq)
	})
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		if h.Command == client.MembersCommand {
			return fc.send(h.Seq, "", &client.MembersResponse{Members: members}) == nil
		}
		return query(fc, h)
	})
	return fa.addr
}

// acking answers a ping with an ack from each of acks, then ends the
// query, unless endless is set.
func acking(acks []string, endless bool) func(fc *fakeConn, seq uint64) bool {
	return func(fc *fakeConn, seq uint64) bool {
		if fc.send(seq, "", nil) != nil {
			return false
		}
		for _, from := range acks {
			if fc.send(seq, "", &client.QueryRecord{Type: client.QueryRecordAck, From: from}) != nil {
				return false
			}
		}
		return endless || fc.send(seq, "", &client.QueryRecord{Type: client.QueryRecordDone}) == nil
	}
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
	tips := "\nTroubleshooting tips:\n" +
		"* Ensure that the bind addr:port is accessible by all other nodes\n" +
		"* If an advertise address is set, ensure it routes to the bind address\n" +
		"* Check that no nodes are behind a NAT\n" +
		"* If nodes are behind firewalls or iptables, check that Serf traffic is permitted (UDP and TCP)\n" +
		"* Verify networking equipment is functional\n"
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
				tips},
		{"extra", []string{"n1", "n2", "n3", "left", "gone"}, false, 1,
			"Total members: 5, live members: 3\nStarting reachability test...\n" +
				"Received more acks than live nodes! Acks from non-live nodes:\n\tgone\n\tleft\n" +
				"This could mean Serf is detecting false-failures due to a misconfiguration or network issue.\n" +
				tips},
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
			args := []string{"-rpc-addr=" + reachAgent(t, members, acking(tc.acks, false))}
			if tc.verbose {
				args = append(args, "-verbose")
			}
			r := runWithUI(t, newReachability, args...)
			r.out = times.ReplaceAllString(r.out, "X sec")
			r.check(t, args, cmdResult{code: tc.wantCode, out: tc.want})
		})
	}
}

func TestReachabilityCommandInterrupt(t *testing.T) {
	t.Parallel()
	addr := reachAgent(t, []client.Member{reachMember("n1", "alive")}, acking([]string{"n1"}, true))
	ui := cli.NewMockUi()
	shutdownCh := make(chan struct{})
	c := build(ui, "reachability", shutdownCh)
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
	dead, connErr := refusedRPCAddr(t)
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	alone := []client.Member{reachMember("n1", "alive")}
	refuse := reachAgent(t, alone, func(fc *fakeConn, seq uint64) bool {
		return fc.send(seq, "Feature not supported", nil) == nil
	})
	hangup := reachAgent(t, alone, func(fc *fakeConn, seq uint64) bool {
		_ = fc.send(seq, "", nil)
		return false
	})
	runCases(t, newReachability, nil, []cmdCase{
		{"no agent", []string{"-rpc-addr=" + dead}, failure(connErr)},
		{"no token", []string{"-rpc-addr=" + auth.RPCAddr}, failure("Error getting members: Authentication required")},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=x"}, failure(badToken)},
		{"query refused", []string{"-rpc-addr=" + refuse}, cmdResult{code: 1,
			out: "Total members: 1, live members: 1\n", err: "Error sending query: Feature not supported\n"}},
		{"connection lost", []string{"-rpc-addr=" + hangup}, cmdResult{code: 1,
			out: "Total members: 1, live members: 1\nStarting reachability test...\n",
			err: "Error receiving query results: connection to the Serf agent was lost\n"}},
		{"bad flag", []string{"-verbose=maybe"}, showsHelp(helpOf("reachability"))},
	})
}
