package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"testing/synctest"
	"time"
)

// The real-code half of `make sim` runs here, because only a test can
// open a synctest bubble. serf-sim runs this test with -sim.out set.
var (
	simOut      = flag.String("sim.out", "", "run TestSimulation and write its results (JSON) here")
	simN        = flag.String("sim.n", "1000", "cluster sizes, comma separated")
	simEvents   = flag.Int("sim.events", 5, "user events per scenario")
	simFailures = flag.Int("sim.failures", 2, "failures per scenario")
	simSeed     = flag.Uint64("sim.seed", 1, "seed for the choice of senders and victims")
)

// TestSimulation measures real serf nodes on the in-memory network in
// virtual time. It is skipped unless -sim.out is given.
func TestSimulation(t *testing.T) {
	if *simOut == "" {
		t.Skip("run through serf-sim (make sim), or pass -sim.out")
	}
	sizes, err := ParseInts(*simN)
	if err != nil {
		t.Fatalf("-sim.n: %v", err)
	}
	// The bootstrap makes every node learn every other: N^2 alive
	// messages, most of the run's garbage. A larger GC target trades
	// memory for a much shorter run.
	debug.SetGCPercent(300)
	var runs []RealRun
	for _, n := range sizes {
		runs = append(runs, runReal(t, n))
	}
	b, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*simOut, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runReal runs one cluster size through every scenario in a bubble.
func runReal(t *testing.T, n int) RealRun {
	run := RealRun{N: n}
	wallStart := wallClock()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(*simSeed, uint64(n)))
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)

		base := Scenarios[0].Link
		c, err := NewCluster(n, base, nil)
		if err != nil {
			t.Fatalf("NewCluster(%d) error: %v", n, err)
		}
		defer c.Shutdown()
		start := time.Now()
		if err := c.Bootstrap(30 * time.Minute); err != nil {
			t.Fatalf("Bootstrap() error: %v", err)
		}
		run.BootstrapVirtual = time.Since(start).Seconds()
		run.BootstrapWall = wallClock().Sub(wallStart).Seconds()

		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		run.HeapBytes = after.HeapAlloc - before.HeapAlloc
		run.BytesPerNode = float64(run.HeapBytes) / float64(n)
		run.Goroutines = runtime.NumGoroutine()
		logf(t, "n=%d: bootstrap %.1fs virtual, %.1fs wall; heap %d MiB (%.0f B per node pair)",
			n, run.BootstrapVirtual, run.BootstrapWall, run.HeapBytes>>20, run.BytesPerNode/float64(n))

		for _, sc := range Scenarios {
			// trial measures one spread on the scenario's links, then lets
			// the cluster come to rest on the base links.
			trial := func(kind, what string, measure func() (Spread, error)) {
				c.Net.SetLink(sc.Link)
				s, err := measure()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				run.Trials = append(run.Trials, NewTrial(SourceReal, kind, n, sc.Name, s))
				c.Net.SetLink(base)
				if err := c.Quiesce(5 * time.Minute); err != nil {
					t.Fatal(err)
				}
				q, _ := s.Quantile(0.999)
				logf(t, "n=%d %s %s: 99.9%% %.3fs, reached %d/%d", n, sc.Name, what, q.Seconds(), len(s.Latencies), s.Total)
			}
			for e := 0; e < *simEvents; e++ {
				name := fmt.Sprintf("ev-%s-%d", sc.Name, e)
				trial(KindUserEvent, fmt.Sprintf("user event %d", e), func() (Spread, error) {
					return c.UserEvent(rng.IntN(n), name, 30*time.Second)
				})
			}
			for f := 0; f < *simFailures; f++ {
				trial(KindFailure, fmt.Sprintf("failure %d", f), func() (Spread, error) {
					victim := 1 + rng.IntN(n-1) // never the seed
					for c.Nodes[victim].Transport.Silent() {
						victim = 1 + rng.IntN(n-1)
					}
					return c.Fail(victim, 3*time.Minute)
				})
			}
		}
		run.Virtual = time.Since(start).Seconds()
		run.Network = c.Net.Stats()
	})
	run.Wall = wallClock().Sub(wallStart).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	run.SysBytes = ms.Sys
	return run
}

// logf prints progress at once (t.Logf output waits for the test's end).
func logf(t *testing.T, format string, args ...any) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "serf-sim: "+format+"\n", args...)
}
