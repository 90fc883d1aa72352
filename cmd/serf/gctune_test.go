package main

import (
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// TestGCTunerDecide walks the tuner through a quiet agent, a burst and
// the calm after it: the target goes up once the collector's CPU per
// second reaches busyRate and comes back only under calmRate.
func TestGCTunerDecide(t *testing.T) {
	var set []int
	tu := &gcTuner{setPercent: func(p int) int { set = append(set, p); return 0 }}
	steps := []struct {
		gc      time.Duration // collector CPU since the last cycle
		elapsed time.Duration
		want    []int
	}{
		{700 * time.Microsecond, 5 * time.Second, nil}, // idle: 0.14 ms/s
		{0, 0, nil}, // no time passed: nothing to judge
		{10 * time.Millisecond, time.Second, []int{busyGCPercent}},                 // a fleet boot: 10 ms/s
		{2 * time.Millisecond, time.Second, []int{busyGCPercent}},                  // still busy
		{200 * time.Microsecond, time.Second, []int{busyGCPercent}},                // quieter, above calmRate
		{time.Millisecond, 20 * time.Second, []int{busyGCPercent, agentGCPercent}}, // 0.05 ms/s: calm
		{time.Millisecond, 5 * time.Second, []int{busyGCPercent, agentGCPercent}},  // idle again
	}
	for i, s := range steps {
		tu.decide(s.gc.Seconds(), s.elapsed)
		if !slices.Equal(set, s.want) {
			t.Fatalf("step %d: targets set %v, want %v", i, set, s.want)
		}
	}
}

// TestGCTunerCycles checks that the tuner sees the collector's cycles
// without a goroutine of its own, and stops when told.
func TestGCTunerCycles(t *testing.T) {
	tu := newGCTuner(func(int) int { return 0 })
	defer tu.stopped.Store(true)
	wait.For(t, 10*time.Second, func() error {
		runtime.GC()
		if tu.cycles.Load() < 3 {
			return errors.New("fewer than 3 cycles seen")
		}
		return nil
	})
}
