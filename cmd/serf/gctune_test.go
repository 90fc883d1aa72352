package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// TestGCTunerDecide walks the tuner through a quiet agent, a burst and
// the calm after it: the target goes up once the collector's CPU per
// second over a window of a second or more reaches busyRate, and comes
// back only under calmRate.
func TestGCTunerDecide(t *testing.T) {
	var set []int
	tu := &gcTuner{setPercent: func(p int) int { set = append(set, p); return 0 }}
	steps := []struct {
		gc      time.Duration // collector CPU since the last read
		elapsed time.Duration
		want    []int
	}{
		{700 * time.Microsecond, 5 * time.Second, nil}, // idle: 0.14 ms/s
		{0, 0, nil}, // no time passed: nothing to judge
		{time.Millisecond, 100 * time.Millisecond, nil},            // one quick cycle: too short a window
		{0, 5 * time.Second, nil},                                  // the window whole: 0.2 ms/s
		{10 * time.Millisecond, time.Second, []int{busyGCPercent}}, // a fleet boot: 10 ms/s
		{2 * time.Millisecond, time.Second, []int{busyGCPercent}},  // still busy
		{200 * time.Microsecond, time.Second, []int{busyGCPercent}},
		{0, 500 * time.Millisecond, []int{busyGCPercent}},                         // quiet, but only half a window
		{0, 500 * time.Millisecond, []int{busyGCPercent, agentGCPercent}},         // a whole quiet second: calm
		{time.Millisecond, 5 * time.Second, []int{busyGCPercent, agentGCPercent}}, // idle again
	}
	for i, s := range steps {
		tu.decide(s.gc.Seconds(), s.elapsed)
		if !slices.Equal(set, s.want) {
			t.Fatalf("step %d: targets set %v, want %v", i, set, s.want)
		}
	}
}

// TestGCTunerComesBackWithoutCycles has a busy tuner go quiet although no
// collection runs: its timer judges the quiet windows.
func TestGCTunerComesBackWithoutCycles(t *testing.T) {
	var mu sync.Mutex
	var set []int
	tu := newGCTuner(func(p int) int {
		mu.Lock()
		defer mu.Unlock()
		set = append(set, p)
		return 0
	}, 50*time.Millisecond)
	defer tu.stop()
	tu.mu.Lock()
	tu.decide(time.Second.Seconds(), time.Second) // a burst: 1 s of GC per second
	tu.mu.Unlock()
	wait.For(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(set, []int{busyGCPercent, agentGCPercent}) {
			return fmt.Errorf("targets set %v", set)
		}
		return nil
	})
	tu.mu.Lock()
	defer tu.mu.Unlock()
	if tu.timer != nil {
		t.Error("the timer still runs after the calm")
	}
}

// TestGCTunerCycles checks that the tuner sees the collector's cycles
// without a goroutine of its own, and stops when told.
func TestGCTunerCycles(t *testing.T) {
	tu := newGCTuner(func(int) int { return 0 }, 0)
	defer tu.stop()
	wait.For(t, 10*time.Second, func() error {
		runtime.GC()
		if tu.cycles.Load() < 3 {
			return errors.New("fewer than 3 cycles seen")
		}
		return nil
	})
}
