package bench

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

// TestSmoke runs the whole measuring sequence on a cluster of three of
// our agents, with a short plan.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agents")
	}
	dir := t.TempDir()
	bin := serfbin.Path(t)
	handler, err := WriteHandler(dir)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var reg Registry
	// Networks 250-254 are never used by Run; pick one at random in case
	// two of these tests run at once.
	c, err := StartCluster(ctx, ClusterConfig{Bin: bin, N: 3, Net: 250 + rand.IntN(5), Dir: dir, Handler: handler}, &reg)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
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
}
