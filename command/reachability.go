package command

import (
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/openserf/serf/client"
)

// pingQuery is the one internal query the agent lets an RPC client send:
// every node acks it, and no handler ever sees it. It is the serf
// library's InternalQueryPrefix plus "ping"; the command package talks to
// agents only through the client package, so it is spelled out here.
const pingQuery = "_serf_ping"

// Texts of the reachability report, as Serf prints them.
const (
	reachTooManyAcks = "This could mean Serf is detecting false-failures due to a misconfiguration or network issue."
	reachTooFewAcks  = "This could mean Serf gossip packets are being lost due to a misconfiguration or network issue."
	reachDuplicates  = "Duplicate responses means there is a misconfiguration. Verify that node names are unique."
	// reachTips is printed as one message; it starts with a newline, which
	// leaves an empty line before it.
	reachTips = "\nTroubleshooting tips:\n" +
		"* Ensure that the bind addr:port is accessible by all other nodes\n" +
		"* If an advertise address is set, ensure it routes to the bind address\n" +
		"* Check that no nodes are behind a NAT\n" +
		"* If nodes are behind firewalls or iptables, check that Serf traffic is permitted (UDP and TCP)\n" +
		"* Verify networking equipment is functional"
)

// reachabilitySetup is `serf reachability`: it pings every node with the
// internal ping query and compares the acks with the live members. It
// returns 0 when exactly the live members acked, each once.
func reachabilitySetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	verbose := f.Bool("verbose", false, "verbose mode")
	return func(e *env, _ []string) int {
		return r.call(e.ui.Error, func(cl *client.RPCClient) int { return reach(e, cl, *verbose) })
	}
}

// reach is the work of `serf reachability` once connected.
func reach(e *env, cl *client.RPCClient, verbose bool) int {
	members, err := cl.Members()
	if err != nil {
		return failf(e.ui, "Error getting members: %s", err)
	}
	live := make(map[string]bool)
	for _, m := range members {
		if m.Status == "alive" {
			live[m.Name] = true
		}
	}
	e.ui.Output(fmt.Sprintf("Total members: %d, live members: %d", len(members), len(live)))

	ackCh := make(chan string)
	params := &client.QueryParam{
		Name:       pingQuery,
		RequestAck: true,
		AckCh:      ackCh,
	}
	if err := cl.Query(params); err != nil {
		return failf(e.ui, "Error sending query: %s", err)
	}
	e.ui.Output("Starting reachability test...")
	start := time.Now()
	last := start

	numAcks := 0
	dups := false
	acked := make(map[string]bool, len(members))
	// The client closes ackCh after the agent's done record, at the
	// query's deadline.
WAIT:
	for {
		select {
		case from, ok := <-ackCh:
			if !ok {
				break WAIT
			}
			if verbose {
				e.ui.Output(fmt.Sprintf("\tAck from '%s'", from))
			}
			numAcks++
			if acked[from] {
				dups = true
				e.ui.Output(fmt.Sprintf("Duplicate response from '%s'", from))
			}
			acked[from] = true
			last = time.Now()
		case <-e.interrupt:
			e.ui.Error("Test interrupted")
			return 1
		}
	}
	// A lost connection closes ackCh too, with the acks incomplete.
	if cl.IsClosed() {
		e.ui.Error(queryConnLost)
		return 1
	}

	if verbose {
		e.ui.Output(fmt.Sprintf("Query time: %0.2f sec, time to last response: %0.2f sec",
			time.Since(start).Seconds(), last.Sub(start).Seconds()))
	}

	exit := 0
	if dups {
		e.ui.Output(reachDuplicates)
		exit = 1
	}
	switch {
	case numAcks == len(live):
		e.ui.Output("Successfully contacted all live nodes")
		return exit
	case numAcks > len(live):
		e.ui.Output("Received more acks than live nodes! Acks from non-live nodes:")
		for _, name := range sortedNames(acked, func(n string) bool { return !live[n] }) {
			e.ui.Output("\t" + name)
		}
		e.ui.Output(reachTooManyAcks)
	default:
		e.ui.Output("Received less acks than live nodes! Missing acks from:")
		for _, name := range sortedNames(live, func(n string) bool { return !acked[n] }) {
			e.ui.Output("\t" + name)
		}
		e.ui.Output(reachTooFewAcks)
	}
	e.ui.Output(reachTips)
	return 1
}

// sortedNames returns the keys of set that keep selects, sorted, so that
// the report reads the same from one run to the next.
func sortedNames(set map[string]bool, keep func(string) bool) []string {
	var names []string
	for n := range set {
		if keep(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// reachabilityHelp is what "serf reachability -h" prints.
const reachabilityHelp = `
Usage: serf reachability [options]

  Checks that every live member of the cluster can be reached: it sends a
  ping query through the agent and expects one ack from each node the agent
  believes to be alive. Missing, extra or duplicate acks are reported with
  hints on what to check, and make the command exit 1.

Options:

  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.
  -rpc-auth=""              RPC auth token of the Serf agent.
  -verbose                  Print every ack and the timings as well.
`
