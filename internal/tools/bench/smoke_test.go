package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/serfbin"
	"github.com/openserf/serf/internal/tools/headless"
)

// smokeCluster starts three of our agents, with -http-addr when http
// is set.
func smokeCluster(t *testing.T, ctx context.Context, http bool) *Cluster {
	t.Helper()
	dir := t.TempDir()
	handler, err := WriteHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	var reg Registry
	// Networks 250-254 are never used by Run; pick one at random in case
	// two of these tests run at once.
	c, err := StartCluster(ctx, ClusterConfig{Bin: serfbin.Path(t), N: 3, Net: 250 + rand.IntN(5), Dir: dir, Handler: handler, HTTP: http}, &reg)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	return c
}

// TestSmoke runs the whole measuring sequence on a cluster of three of
// our agents, with a short plan.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := smokeCluster(t, ctx, false)
	t.Cleanup(func() {
		c.Close()
		for _, a := range c.Agents {
			select {
			case <-a.proc.Exited():
			default:
				t.Errorf("%s still running after Close", a.Name)
			}
		}
	})

	r := Measure(ctx, c, Plan{
		ConvergeCap:  15 * time.Second,
		Events:       2,
		EventTimeout: 5 * time.Second,
		Queries:      1,
		QueryEnds:    1,
		MembersCalls: 3,
		RateWindow:   100 * time.Millisecond,
		CostWindow:   300 * time.Millisecond,
		LoadRate:     10,
		DetectCap:    15 * time.Second,
		Kills:        3,
		Poll:         100 * time.Millisecond,
	}, t.Logf)
	if len(r.Errors) > 0 {
		t.Errorf("Errors = %q, want none", r.Errors)
	}
	if !r.Converged || len(r.Converge) != 3 || r.WorstSeen != 3 {
		t.Errorf("join: Converged %v, %d times, WorstSeen %d; want 3 agents converged", r.Converged, len(r.Converge), r.WorstSeen)
	}
	if len(r.Startup) != 3 || len(r.Events) != 2 || len(r.QueryAcks) != 1 || len(r.MembersRPC) != 3 || r.EventRate <= 0 {
		t.Errorf("got %d start-ups, %d events, %d queries, %d members calls, %v events/s; want 3, 2, 1, 3, > 0",
			len(r.Startup), len(r.Events), len(r.QueryAcks), len(r.MembersRPC), r.EventRate)
	}
	// Ours ends a query once all three have answered, long before the
	// default timeout at N = 3 (3.2 s with the lan profile).
	if len(r.QueryEnd) != 1 || r.QueryEndsShort != 0 || r.QueryEnd[0] >= 3 {
		t.Errorf("serf query: times %v, %d short; want one, complete, under 3 s", r.QueryEnd, r.QueryEndsShort)
	}
	if len(r.RSSIdle) != 3 || len(r.CPULoad) != 3 || Median(r.RSSIdle) <= 0 {
		t.Errorf("cost: RSS %v, CPU %v; want 3 agents each, RSS > 0", r.RSSIdle, r.CPULoad)
	}
	// Both others see the kill, the last one the leave.
	if len(r.DetectFailed) != 2 || r.MissingFailed != 0 || len(r.DetectLeft) != 1 || r.MissingLeft != 0 {
		t.Errorf("departures: failed %v (%d missing), left %v (%d missing); want 2 and 1 seen",
			r.DetectFailed, r.MissingFailed, r.DetectLeft, r.MissingLeft)
	}
	// Kills asks for 3, but a cluster of three has one agent to kill and
	// one to leave; the kill waited for a quiet cluster and noted its
	// health.
	if len(r.Kills) != 1 || len(r.KillHealth) != 1 || len(r.KillQuiet) != 1 || r.KillQuiet[0] >= quietCap.Seconds() {
		t.Errorf("kills %v, health %v, quiet after %vs; want one kill, health noted, quiet within the cap", r.Kills, r.KillHealth, r.KillQuiet)
	}
}

// TestSmokeHTTP runs the sequence of a cluster of ours with -http-addr:
// the join, the idle cost, the HTTP API's figures and, when a Chromium is
// installed, the cost of an open web UI page.
func TestSmokeHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := smokeCluster(t, ctx, true)
	t.Cleanup(c.Close)
	r := Measure(ctx, c, Plan{
		ConvergeCap:  15 * time.Second,
		MembersCalls: 3,
		RateWindow:   100 * time.Millisecond,
		CostWindow:   300 * time.Millisecond,
		Poll:         100 * time.Millisecond,
	}, t.Logf)
	if len(r.Errors) > 0 {
		t.Errorf("Errors = %q, want none", r.Errors)
	}
	if !r.Converged || len(r.MembersHTTP) != 3 || r.HTTPEventRate <= 0 || len(r.RSSIdle) != 3 {
		t.Errorf("converged %v, %d HTTP members calls, %v HTTP events/s, %d idle RSS; want true, 3, > 0, 3",
			r.Converged, len(r.MembersHTTP), r.HTTPEventRate, len(r.RSSIdle))
	}
	if len(r.Events) != 0 || len(r.DetectFailed) != 0 {
		t.Errorf("the HTTP cluster measured events %v, departures %v; want neither", r.Events, r.DetectFailed)
	}
	if headless.Find() != "" && (len(r.CPUUIPage) != 1 || len(r.RSSUIPage) != 1 || len(r.RSSUINone) != 2) {
		t.Errorf("open UI page: cpu %v rss %v, others rss %v; want one agent's figures beside two others'",
			r.CPUUIPage, r.RSSUIPage, r.RSSUINone)
	}
}

// joinSmoke starts a smoke cluster, lets prepare act on it, and runs
// measureJoin with plan, returning the cluster, the result, the errors it
// reported and how long it took.
func joinSmoke(t *testing.T, timeout time.Duration, plan Plan, prepare func(*Cluster)) (c *Cluster, r RunResult, errs []string, took time.Duration) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c = smokeCluster(t, ctx, false)
	t.Cleanup(c.Close)
	if prepare != nil {
		prepare(c)
	}
	start := time.Now()
	measureJoin(ctx, c, plan, &r, func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...))
	})
	return c, r, errs, time.Since(start)
}

// TestJoinInWaves: a join in waves of one agent forms the cluster, each
// wave answered before the next, and times it like the join at once.
func TestJoinInWaves(t *testing.T) {
	_, r, errs, _ := joinSmoke(t, 60*time.Second, Plan{ConvergeCap: 15 * time.Second, Poll: 50 * time.Millisecond, JoinWave: 1}, nil)
	if !r.Converged || r.WorstSeen != 3 || len(r.Converge) != 3 || len(errs) > 0 {
		t.Fatalf("converged %v, worst %d, times %v, errors %v", r.Converged, r.WorstSeen, r.Converge, errs)
	}
}

// TestJoinStall: a join that cannot converge (one agent is dead before
// it starts) ends once no agent's alive count has changed for
// JoinStall, long before the cap, as not converged, and says how far it
// got.
func TestJoinStall(t *testing.T) {
	_, r, errs, took := joinSmoke(t, 90*time.Second, Plan{ConvergeCap: 60 * time.Second, JoinStall: time.Second, Poll: 50 * time.Millisecond},
		func(c *Cluster) { c.Agents[2].Kill() })
	if took > 30*time.Second {
		t.Errorf("the stalled join took %v, as if waiting for the 60 s cap", took)
	}
	if r.Converged || r.WorstSeen != 0 || len(r.Stragglers) != 3 {
		t.Errorf("converged %v, worst %d, stragglers %v; want not converged, worst 0 (the dead agent), 3 stragglers", r.Converged, r.WorstSeen, r.Stragglers)
	}
	stalled := false
	for _, e := range errs {
		stalled = stalled || strings.HasPrefix(e, "join stalled:")
	}
	if !stalled {
		t.Errorf("errors %q do not say the join stalled", errs)
	}
}

// TestStatusOf: how an agent lists a member, for the departures' notes.
func TestStatusOf(t *testing.T) {
	c, r, _, _ := joinSmoke(t, 60*time.Second, Plan{ConvergeCap: 15 * time.Second, Poll: 50 * time.Millisecond}, nil)
	if !r.Converged {
		t.Fatal("not converged")
	}
	a := c.Agents[0]
	if got := statusOf(a, c.Agents[1].Name); got != "lists it alive" {
		t.Errorf("statusOf(%s) = %q, want %q", c.Agents[1].Name, got, "lists it alive")
	}
	if got := statusOf(a, "nobody"); got != "not listed" {
		t.Errorf("statusOf(nobody) = %q, want %q", got, "not listed")
	}
}
