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
	deadline := time.Now().Add(timeout)
	delay := firstDelay
	for {
		err := cond()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("condition not met after %v: %w", timeout, err)
		}
		time.Sleep(min(delay, left))
		delay = min(2*delay, maxDelay)
	}
}
