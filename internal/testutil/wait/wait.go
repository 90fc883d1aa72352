package wait

import (
	"fmt"
	"testing"
	"time"
)

// Poll intervals: start fast so quick conditions cost little, then back
// off so slow ones do not spin.
const (
	firstDelay = 10 * time.Millisecond
	maxDelay   = 50 * time.Millisecond
)

// For calls cond until it returns nil. If that has not happened once
// timeout has passed, For fails tb with cond's last error. cond is always
// called at least once, even with a zero timeout.
func For(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	if err := Until(timeout, cond); err != nil {
		tb.Fatal(err)
	}
}

// Until is For without a test: it returns nil as soon as cond does, or an
// error holding cond's last error once timeout has passed.
func Until(timeout time.Duration, cond func() error) error {
	_, err := poll(timeout, firstDelay, maxDelay, cond)
	return err
}

// Every is For at a steady pace, for conditions that cost a process or a
// network round trip each time (a CLI command on every host): cond is
// called every interval. It returns how long cond took to hold, the
// figure a scenario test reports.
func Every(tb testing.TB, timeout, interval time.Duration, cond func() error) time.Duration {
	tb.Helper()
	took, err := poll(timeout, interval, interval, cond)
	if err != nil {
		tb.Fatal(err)
	}
	return took
}

// poll calls cond until it returns nil or timeout has passed, sleeping
// first between the first two calls and twice as long each time after,
// up to most. It returns the time from the first call to the one that
// succeeded.
func poll(timeout, first, most time.Duration, cond func() error) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	delay := first
	for {
		err := cond()
		if err == nil {
			return time.Since(start), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("condition not met after %v: %w", timeout, err)
		}
		time.Sleep(min(delay, left))
		delay = min(2*delay, most)
	}
}

// Drain hands every value received on a to onA and every one on b to
// onB, in the order they come, until both channels are closed (a query's
// acks and responses): the one closing first does not cut off what the
// other still holds. If both are not closed once timeout has passed,
// Drain fails tb, naming what it read.
func Drain[A, B any](tb testing.TB, timeout time.Duration, what string, a <-chan A, b <-chan B, onA func(A), onB func(B)) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for a != nil || b != nil {
		select {
		case v, ok := <-a:
			if ok {
				onA(v)
			} else {
				a = nil
			}
		case v, ok := <-b:
			if ok {
				onB(v)
			} else {
				b = nil
			}
		case <-deadline.C:
			tb.Fatalf("%s still open after %v", what, timeout)
			return
		}
	}
}
