//go:build linux

package serf

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseSchedstat(t *testing.T) {
	cases := []struct {
		line string
		want int64
		ok   bool
	}{
		{"261318978 28740712 375\n", 28740712, true},
		{"0 0 1", 0, true},
		{"5 9223372036854775807 2\n", 9223372036854775807, true},
		{"", 0, false},
		{"261318978 28740712\n", 0, false},
		{"1 2 3 4\n", 0, false},
		{"1 -2 3\n", 0, false},
		{"1 x 3\n", 0, false},
		{"1 9223372036854775808 3\n", 0, false},
	}
	for _, c := range cases {
		got, ok := parseSchedstat([]byte(c.line))
		if got != c.want || ok != c.ok {
			t.Errorf("parseSchedstat(%q) = %d, %v; want %d, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseSchedstat(f *testing.F) {
	f.Add([]byte("261318978 28740712 375\n"))
	f.Add([]byte("0 0 1"))
	f.Add([]byte("1 -2 3"))
	f.Fuzz(func(t *testing.T, line []byte) {
		if v, ok := parseSchedstat(line); ok {
			if v < 0 {
				t.Fatalf("parseSchedstat(%q) = %d, a negative wait", line, v)
			}
			if back, ok2 := parseSchedstat([]byte("0 " + strconv.FormatInt(v, 10) + " 0")); !ok2 || back != v {
				t.Fatalf("round trip of %d: %d, %v", v, back, ok2)
			}
		}
	})
}

// TestCPUWaitShort keeps more runnable threads than the process may run
// at once busy and checks that the wait for a CPU is seen; then, with
// those threads stopped and this one asleep, that it is not.
func TestCPUWaitShort(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc here")
	}
	if _, ok := runQueueWait(); !ok {
		t.Skip("the kernel keeps no scheduler statistics")
	}
	w := newCPUWait()
	threads := 2*runtime.NumCPU() + 2
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !stop.Load() {
			}
		}()
	}
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	deadline := time.Now().Add(10 * time.Second)
	busy := false
	for !busy && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		busy = w.short(0.25)
	}
	stop.Store(true)
	wg.Wait()
	if !busy {
		t.Fatalf("%d spinning threads on %d CPUs: never short of CPU", threads, runtime.NumCPU())
	}
	// Idle now: some look within the deadline must find no shortage
	// (another test's or program's load may spoil a single look).
	idle := false
	for !idle && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(200 * time.Millisecond)
		idle = !w.short(0.25)
	}
	if !idle {
		t.Fatal("idle: short of CPU at every look")
	}
}
