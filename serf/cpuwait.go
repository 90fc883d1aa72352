package serf

import "time"

// cpuWait tells whether this process has been short of CPU lately: how
// much of the time between two looks its threads spent runnable but
// waiting for a CPU, as the kernel counts it. Where the kernel keeps no
// such count it never reports a shortage.
type cpuWait struct {
	waited time.Duration
	at     time.Time
	ok     bool
}

func newCPUWait() *cpuWait {
	w := &cpuWait{at: time.Now()}
	w.waited, w.ok = runQueueWait()
	return w
}

// short reports whether the threads waited for a CPU for more than share
// of the time since the last look, and starts a new period.
func (w *cpuWait) short(share float64) bool {
	waited, ok := runQueueWait()
	now := time.Now()
	prevWaited, prevAt, prevOK := w.waited, w.at, w.ok
	w.waited, w.at, w.ok = waited, now, ok
	if !ok || !prevOK {
		return false
	}
	span := now.Sub(prevAt)
	return span > 0 && float64(waited-prevWaited) > share*float64(span)
}
