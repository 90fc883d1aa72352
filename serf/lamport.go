package serf

import "sync/atomic"

// LamportTime is a point on a Lamport clock. It is a uint64 on the wire.
type LamportTime uint64

// LamportClock is a thread-safe Lamport clock. The zero value starts at 0.
type LamportClock struct {
	counter atomic.Uint64
}

// Time returns the current value of the clock.
func (l *LamportClock) Time() LamportTime {
	return LamportTime(l.counter.Load())
}

// Increment advances the clock by one and returns the new value.
func (l *LamportClock) Increment() LamportTime {
	return LamportTime(l.counter.Add(1))
}

// Witness moves the clock past a time seen in a message from another node:
// when v is not older than the current time the clock becomes v+1, so that
// anything this node stamps next is ordered after what it has seen.
func (l *LamportClock) Witness(v LamportTime) {
	for {
		cur := l.counter.Load()
		if uint64(v) < cur {
			return
		}
		if l.counter.CompareAndSwap(cur, uint64(v)+1) {
			return
		}
	}
}
