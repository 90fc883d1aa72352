package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// An agent is quiet most of the time and busy now and then: a fleet that
// boots at once, a partition healing, a storm of suspicions on a starved
// machine. Quiet, agentGCPercent keeps its heap small at little CPU (one
// collection every few seconds). Busy, gossip allocates fast, and with
// the heap goal at a megabyte the collector runs many times a second: in
// a fleet boot of 200 agents on two cores it took a third of their CPU,
// CPU the gossip and the seed's state exchanges needed.
//
// gcTuner therefore moves the target between the two settings by the
// collector's CPU time per second, measured at the end of every cycle:
// at busyRate or more the target goes up to busyGCPercent (a quarter of
// the cycles for the same work), and back down once the rate has fallen
// under calmRate. It needs no goroutine or timer: a finalizer on an
// unreachable object runs after each cycle and sets the next one.
const (
	busyGCPercent = 100
	// busyRate is the collector's CPU per second that makes the agent
	// busy: an idle agent of a 50-node cluster collects every 5 s or so
	// at agentGCPercent, for about 0.15 ms per second.
	busyRate = 0.0004
	// calmRate is measured at busyGCPercent, where the same work costs
	// about a quarter of the collector's time at agentGCPercent.
	calmRate = 0.00006
)

// gcCPU is the runtime metric the tuner reads: the collector's CPU
// (pauses, background and assist marking).
const gcCPU = "/cpu/classes/gc/total:cpu-seconds"

// gcTuner is the state kept between cycles. Only the finalizer goroutine
// uses it, one cycle at a time.
type gcTuner struct {
	busy bool
	// gc is the collector's CPU seconds at the last cycle, at is when.
	gc     float64
	at     time.Time
	sample []metrics.Sample // one: gcCPU
	// setPercent is debug.SetGCPercent; tests watch it.
	setPercent func(int) int
	// stopped ends the re-arming; for tests.
	stopped atomic.Bool
	// cycles counts the cycles seen; for tests.
	cycles atomic.Int64
}

// startGCTuner starts tuning the process's collector, at agentGCPercent.
func startGCTuner() *gcTuner { return newGCTuner(debug.SetGCPercent) }

// newGCTuner starts a tuner that sets targets with setPercent.
func newGCTuner(setPercent func(int) int) *gcTuner {
	t := &gcTuner{setPercent: setPercent, sample: []metrics.Sample{{Name: gcCPU}}}
	t.read()
	t.arm()
	return t
}

// gcSentinel is allocated unreachable; its finalizer runs after the
// next cycle.
type gcSentinel struct{ t *gcTuner }

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{t: t}, func(s *gcSentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.cycle()
		s.t.arm()
	})
}

// read samples the collector's CPU and returns how much it used since
// the last read, and over how long.
func (t *gcTuner) read() (gc float64, elapsed time.Duration) {
	metrics.Read(t.sample)
	g, now := value(t.sample[0]), time.Now()
	gc, elapsed = g-t.gc, now.Sub(t.at)
	t.gc, t.at = g, now
	return gc, elapsed
}

func value(s metrics.Sample) float64 {
	if s.Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return s.Value.Float64()
}

// cycle runs after a collection and sets the target for the next ones.
func (t *gcTuner) cycle() {
	t.cycles.Add(1)
	t.decide(t.read())
}

// decide applies the thresholds to the collector's CPU seconds since the
// last cycle, elapsed ago.
func (t *gcTuner) decide(gc float64, elapsed time.Duration) {
	if elapsed <= 0 {
		return
	}
	rate := gc / elapsed.Seconds()
	switch {
	case !t.busy && rate >= busyRate:
		t.busy = true
		t.setPercent(busyGCPercent)
	case t.busy && rate < calmRate:
		t.busy = false
		t.setPercent(agentGCPercent)
	}
}
