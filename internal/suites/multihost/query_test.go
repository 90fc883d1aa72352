package multihost

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
)

// longTimeout is the timeout of the queries that must end early: far
// longer than an answer takes to come back, and longer than the second
// redelivery round (at half the timeout) that brings in a member gossip
// missed, so an end before it can only be the early one.
const longTimeout = 40 * time.Second

// earlyBound is when a query with longTimeout must have ended: after the
// first redelivery round (a quarter in) but well before the timeout.
const earlyBound = 15 * time.Second

// timedQuery runs "serf query args..." with bin on a's host against a's
// agent and returns its output and how long it took.
func timedQuery(t *testing.T, a *Agent, bin string, args ...string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := a.RunBin(bin, append([]string{"query"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out, time.Since(start)
}

// answerLines returns the ack, response and total lines of a text query
// output, sorted: what must be the same whether the query ended early or
// ran to its timeout ("Query ... dispatched" aside).
func answerLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Ack from ") || strings.HasPrefix(l, "Response from ") ||
			strings.HasPrefix(l, "Total ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	slices.Sort(lines)
	return lines
}

// wantAnswers returns the sorted answer lines of a query that every agent
// in agents acked and answered through the recording handler.
func wantAnswers(agents []*Agent, responded int) []string {
	var lines []string
	for i, a := range agents {
		lines = append(lines, "Ack from '"+a.Host.Name+"'")
		if i < responded {
			lines = append(lines, "Response from '"+a.Host.Name+"': reply from "+a.Host.Name)
		}
	}
	lines = append(lines, "Total Acks: "+strconv.Itoa(len(agents)), "Total Responses: "+strconv.Itoa(responded))
	slices.Sort(lines)
	return lines
}

// TestQueryEndsWhenAnswered: in a cluster of three of ours, one real Serf
// 0.11.0 and one 0.10.2, all answering queries through their handlers, a
// query sent through one of our agents ends as soon as every member its
// filters select has acked and responded, long before its timeout,
// whether asked by our CLI or Serf's, and prints what a real Serf agent's
// full wait prints. Once a member that acks but never responds joins, an
// unfiltered query runs to its timeout again.
func TestQueryEndsWhenAnswered(t *testing.T) {
	requireLab(t)
	real11, real10 := oracleBins["v0.11.0"], oracleBins["v0.10.2"]
	if real11 == "" || real10 == "" {
		t.Fatal("no real Serf binaries")
	}
	c := NewCluster(t, "qe", 6, ourBin)
	bins := []string{ourBin, ourBin, ourBin, real11, real10}
	agents, _ := c.StartJoined(60*time.Second, c.StartRecorded, bins, func(i int, _ *netns.Host) []string {
		impl := "ours"
		if bins[i] != ourBin {
			impl = "serf"
		}
		return []string{"-tag", "impl=" + impl}
	})
	ours, serfs := agents[:3], agents[3:]
	long := "-timeout=" + longTimeout.String()

	// Everyone, asked through ours by our CLI and by Serf's.
	for _, cli := range []string{ourBin, real11} {
		out, took := timedQuery(t, ours[1], cli, long, "whoami", "q")
		figure(t, "query_end_all_"+impl(cli), took.Round(time.Millisecond))
		if took > earlyBound {
			t.Errorf("query of all through %s (%s CLI) took %v, want an end within %v", ours[1].Host.Name, impl(cli), took, earlyBound)
		}
		if got, want := answerLines(out), wantAnswers(agents, len(agents)); !slices.Equal(got, want) {
			t.Errorf("query of all (%s CLI) printed\n%s\nwant the lines %q", impl(cli), out, want)
		}
	}

	// The same query from a real Serf agent, which waits out its timeout,
	// prints the same lines. Gossip alone may miss a member (see
	// TestMixedCluster), so it may be repeated.
	var full []string
	for attempt := 1; attempt <= attempts(serfs[0]); attempt++ {
		out, took := timedQuery(t, serfs[0], real11, "-timeout=3s", "whoami", "q")
		if took < 3*time.Second {
			t.Errorf("query from real Serf ended after %v, before its 3s timeout", took)
		}
		if full = answerLines(out); slices.Equal(full, wantAnswers(agents, len(agents))) {
			break
		}
		t.Logf("query from real Serf, attempt %d:\n%s", attempt, out)
	}
	if want := wantAnswers(agents, len(agents)); !slices.Equal(full, want) {
		t.Errorf("real Serf's full wait printed %q, want %q", full, want)
	}

	// Filters: only real Serf's agents, only one named node, JSON output.
	out, took := timedQuery(t, ours[0], ourBin, long, "-tag", "impl=^serf$", "-format=json", "whoami", "q")
	figure(t, "query_end_tag", took.Round(time.Millisecond))
	var res queryResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("query -format=json: %v: %q", err, out)
	}
	slices.Sort(res.Acks)
	if want := names(serfs); took > earlyBound || !slices.Equal(res.Acks, want) || len(res.Responses) != len(want) ||
		res.Responses[want[0]] != "reply from "+want[0] || res.Responses[want[1]] != "reply from "+want[1] {
		t.Errorf("query -tag impl=^serf$ took %v and printed %s, want an early end with acks and answers of %v", took, out, want)
	}
	out, took = timedQuery(t, ours[2], ourBin, long, "-node="+serfs[1].Host.Name, "whoami", "q")
	if want := wantAnswers(serfs[1:], 1); took > earlyBound || !slices.Equal(answerLines(out), want) {
		t.Errorf("query -node=%s took %v and printed\n%s\nwant an early end with %q", serfs[1].Host.Name, took, out, want)
	}

	// A member whose agent has no handler acks but never responds: an
	// unfiltered query now runs to its timeout and prints the silent
	// member's ack, and a query that leaves it out still ends early.
	silent := c.Start(c.Host(6), ourBin, "-iface=eth1", "-tag", "impl=silent", "-join="+c.Host(1).IP)
	all := append(slices.Clone(agents), silent)
	Converged(t, 60*time.Second, all)
	out, took = timedQuery(t, ours[0], ourBin, "-timeout=4s", "whoami", "q")
	if want := wantAnswers(all, len(agents)); took < 4*time.Second || !slices.Equal(answerLines(out), want) {
		t.Errorf("query with a silent member took %v and printed\n%s\nwant the full 4s and %q", took, out, want)
	}
	out, took = timedQuery(t, ours[0], ourBin, long, "-tag", "impl=^ours$", "whoami", "q")
	if want := wantAnswers(ours, len(ours)); took > earlyBound || !slices.Equal(answerLines(out), want) {
		t.Errorf("query -tag impl=^ours$ took %v and printed\n%s\nwant an early end with %q", took, out, want)
	}

	// Without acks there is nothing to go by: the full timeout.
	_, took = timedQuery(t, ours[0], ourBin, "-no-ack", "-timeout=3s", "-tag", "impl=^ours$", "whoami", "q")
	if took < 3*time.Second {
		t.Errorf("query -no-ack ended after %v, before its 3s timeout", took)
	}
}

// impl names a CLI binary for messages and figures.
func impl(bin string) string {
	if bin == ourBin {
		return "ours"
	}
	return "serf"
}
