package serf

import (
	"sync"
	"testing"
)

func TestLamportClock(t *testing.T) {
	var c LamportClock
	if got := c.Time(); got != 0 {
		t.Fatalf("zero clock Time() = %d, want 0", got)
	}
	if got := c.Increment(); got != 1 {
		t.Errorf("Increment() = %d, want 1", got)
	}
	if got := c.Increment(); got != 2 {
		t.Errorf("Increment() = %d, want 2", got)
	}
	if got := c.Time(); got != 2 {
		t.Errorf("Time() = %d, want 2", got)
	}

	steps := []struct {
		witness LamportTime
		want    LamportTime
	}{
		{41, 42}, // newer: one past it
		{10, 42}, // older: no-op
		{41, 42}, // just older: no-op
		{42, 43}, // equal: one past it
		{0, 43},
		{100, 101},
	}
	for _, s := range steps {
		c.Witness(s.witness)
		if got := c.Time(); got != s.want {
			t.Errorf("after Witness(%d) Time() = %d, want %d", s.witness, got, s.want)
		}
	}
	if got := c.Increment(); got != 102 {
		t.Errorf("Increment() = %d, want 102", got)
	}
}

// TestLamportClockConcurrent is for -race: increments hand out distinct
// times, and witnessed times are never undone.
func TestLamportClockConcurrent(t *testing.T) {
	const (
		workers = 8
		rounds  = 1000
	)
	var (
		c    LamportClock
		wg   sync.WaitGroup
		seen = make([][]LamportTime, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				seen[w] = append(seen[w], c.Increment())
				// Witness values from the past and the near future.
				c.Witness(LamportTime(i * workers))
				if now := c.Time(); now < seen[w][len(seen[w])-1] {
					t.Errorf("Time() = %d after Increment() = %d, want it not to go back", now, seen[w][len(seen[w])-1])
				}
			}
		})
	}
	wg.Wait()

	unique := make(map[LamportTime]bool, workers*rounds)
	for w := range seen {
		for i, v := range seen[w] {
			if unique[v] {
				t.Fatalf("Increment() returned %d twice", v)
			}
			unique[v] = true
			if i > 0 && v <= seen[w][i-1] {
				t.Errorf("worker %d: Increment() = %d after %d, want increasing", w, v, seen[w][i-1])
			}
		}
	}
	// Each increment adds one and a witness never moves the clock back.
	if floor := LamportTime(workers * rounds); c.Time() < floor {
		t.Errorf("final Time() = %d, want >= %d", c.Time(), floor)
	}
}

func TestLamportClockConcurrentWitness(t *testing.T) {
	var (
		c  LamportClock
		wg sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				c.Witness(LamportTime(i*8 + w))
			}
		})
	}
	wg.Wait()
	// The largest witnessed is 499*8+7; the clock ends one past it, exactly,
	// because witnessing never moves the clock further than that.
	if got, want := c.Time(), LamportTime(499*8+7+1); got != want {
		t.Errorf("Time() after concurrent witnesses = %d, want %d", got, want)
	}
}
