package wait

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestForSucceeds(t *testing.T) {
	calls := 0
	For(t, time.Second, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("calls = %d, want 3", calls)
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

func TestForFailsWithLastError(t *testing.T) {
	ft := &fakeTB{TB: t}
	calls := 0
	start := time.Now()
	For(ft, 100*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("attempt %d", calls)
	})
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("For returned after %v, want at least 100ms", elapsed)
	}
	if calls < 2 {
		t.Errorf("cond called %d times, want at least 2", calls)
	}
	want := fmt.Sprintf("attempt %d", calls)
	if !strings.Contains(ft.failure, want) {
		t.Errorf("failure = %q, want it to contain the last error %q", ft.failure, want)
	}
}

func TestUntilWrapsLastError(t *testing.T) {
	errNotYet := errors.New("not yet")
	err := Until(0, func() error { return errNotYet })
	if !errors.Is(err, errNotYet) {
		t.Errorf("Until() = %v, want it to wrap %v", err, errNotYet)
	}
}

// fakeTB records a failure instead of ending the test.
type fakeTB struct {
	testing.TB
	failure string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.failure = fmt.Sprint(args...)
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
}

func TestEveryReportsTimeTaken(t *testing.T) {
	start := time.Now()
	calls := 0
	took := Every(t, time.Second, 20*time.Millisecond, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("calls = %d, want 3", calls)
		}
		return nil
	})
	if took < 40*time.Millisecond || took > time.Since(start) {
		t.Errorf("Every() = %v, want between 40ms (two intervals) and %v", took, time.Since(start))
	}
}

func TestDrainReadsBothUntilClosed(t *testing.T) {
	a, b := make(chan int, 3), make(chan string, 3)
	a <- 1
	close(a)
	b <- "x"
	b <- "y"
	close(b)
	var ints []int
	var strs []string
	Drain(t, time.Second, "a and b", a, b,
		func(v int) { ints = append(ints, v) },
		func(v string) { strs = append(strs, v) })
	if fmt.Sprint(ints, strs) != "[1] [x y]" {
		t.Errorf("Drain read %v and %v, want [1] and [x y]", ints, strs)
	}
}

func TestDrainFailsWhenLeftOpen(t *testing.T) {
	ft := &fakeTB{TB: t}
	a, b := make(chan int), make(chan int)
	close(a)
	Drain(ft, 50*time.Millisecond, "the query", a, b, func(int) {}, func(int) {})
	if want := "the query still open after 50ms"; ft.failure != want {
		t.Errorf("failure = %q, want %q", ft.failure, want)
	}
}
