package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
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
// collector's CPU time per second, over windows of at least minWindow
// (a start-up cycle alone says nothing): at busyRate or more the target
// goes up to busyGCPercent (a quarter of the cycles for the same work),
// and back down once the rate has fallen under calmRate. Quiet, it needs
// no goroutine or timer: a finalizer on an unreachable object runs after
// each cycle and judges the window. Busy, a timer also judges it every
// calmEvery, because at busyGCPercent an agent that has gone quiet may
// not finish another cycle for minutes, and its heap would stay at four
// times the size it needs. An agent starts busy: starting up is busy.
const (
	busyGCPercent = 100
	// busyRate is the collector's CPU per second that makes the agent
	// busy: an idle agent of a 50-node cluster collects every 5 s or so
	// at agentGCPercent, for about 0.15 ms per second.
	busyRate = 0.0004
	// calmRate is measured at busyGCPercent, where the same work costs
	// about a quarter of the collector's time at agentGCPercent.
	calmRate = 0.00006
	// minWindow is the shortest time a rate is judged over.
	minWindow = time.Second
	// calmEvery is how often a busy agent's rate is judged between
	// cycles.
	calmEvery = 5 * time.Second
)

// gcCPU is the runtime metric the tuner reads: the collector's CPU
// (pauses, background and assist marking).
const gcCPU = "/cpu/classes/gc/total:cpu-seconds"

// gcTuner is the state kept between judgements, made by the finalizer
// goroutine after a cycle and, while busy, by the timer's.
type gcTuner struct {
	mu   sync.Mutex
	busy bool
	// gc is the collector's CPU seconds at the last read, at is when.
	gc     float64
	at     time.Time
	sample []metrics.Sample // one: gcCPU
	// winGC and win are the collector's CPU seconds and the time of the
	// window being gathered.
	winGC float64
	win   time.Duration
	// timer judges the window while busy; nil when quiet.
	timer     *time.Timer
	calmEvery time.Duration
	// setPercent is debug.SetGCPercent; tests watch it.
	setPercent func(int) int
	// stopped ends the re-arming; for tests.
	stopped atomic.Bool
	// cycles counts the cycles seen; for tests.
	cycles atomic.Int64
}

// startGCTuner starts tuning the process's collector. The agent starts
// busy (runtime.go says why): its first judgement comes calmEvery later.
func startGCTuner() *gcTuner {
	t := newGCTuner(debug.SetGCPercent, calmEvery)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.goBusy()
	return t
}

// newGCTuner starts a tuner that sets targets with setPercent and, while
// busy, judges every every.
func newGCTuner(setPercent func(int) int, every time.Duration) *gcTuner {
	t := &gcTuner{setPercent: setPercent, calmEvery: every, sample: []metrics.Sample{{Name: gcCPU}}}
	t.read()
	t.arm()
	return t
}

// stop ends the tuning (the finalizer's re-arming and the timer); for
// tests. The process's agent tunes until it exits.
func (t *gcTuner) stop() {
	t.stopped.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
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
	t.judge()
}

// judge reads the collector's CPU and applies the thresholds.
func (t *gcTuner) judge() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	t.decide(t.read())
}

// decide adds the collector's CPU seconds since the last read, elapsed
// ago, to the window, and once the window spans minWindow applies the
// thresholds to its rate and starts the next. Going busy starts the
// timer; going quiet stops it. t.mu is held.
func (t *gcTuner) decide(gc float64, elapsed time.Duration) {
	if elapsed <= 0 {
		return
	}
	t.winGC += gc
	t.win += elapsed
	if t.win < minWindow {
		return
	}
	rate := t.winGC / t.win.Seconds()
	t.winGC, t.win = 0, 0
	switch {
	case !t.busy && rate >= busyRate:
		t.goBusy()
	case t.busy && rate < calmRate:
		t.busy = false
		t.setPercent(agentGCPercent)
		if t.timer != nil {
			t.timer.Stop()
			t.timer = nil
		}
	}
}

// goBusy raises the target and starts the timer. t.mu is held.
func (t *gcTuner) goBusy() {
	t.busy = true
	t.setPercent(busyGCPercent)
	if t.calmEvery > 0 {
		t.timer = time.AfterFunc(t.calmEvery, t.tick)
	}
}

// tick is the busy timer's judgement; it re-arms while busy.
func (t *gcTuner) tick() {
	t.judge()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy && t.timer != nil && !t.stopped.Load() {
		t.timer.Reset(t.calmEvery)
	}
}
