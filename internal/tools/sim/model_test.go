package sim

import (
	"testing"
	"time"
)

func TestModel(t *testing.T) {
	for _, sc := range Scenarios {
		c := DefaultModelConfig(50, sc.Link)
		for trial := range uint64(5) {
			u := ModelUserEvent(c, trial, 30*time.Second)
			if len(u.Latencies) != c.N {
				t.Errorf("%s: user event reached %d of %d nodes", sc.Name, len(u.Latencies), c.N)
			}
			f := ModelFailure(c, trial, 3*time.Minute)
			if len(f.Latencies) != c.N-1 {
				t.Errorf("%s: failure known by %d of %d nodes", sc.Name, len(f.Latencies), c.N-1)
			}
			if floor := c.ProbeInterval + c.SuspicionMin(); len(f.Latencies) > 0 && f.Latencies[0] < floor {
				t.Errorf("%s: failure declared after %v, before the floor %v", sc.Name, f.Latencies[0], floor)
			}
		}
	}
}

func TestModelFormulas(t *testing.T) {
	c := DefaultModelConfig(1000, Link{})
	if got := c.RetransmitLimit(); got != 16 {
		t.Errorf("RetransmitLimit(N=1000) = %d, want 4*ceil(log10(1001)) = 16", got)
	}
	if got := c.SuspicionMin(); got != 12*time.Second {
		t.Errorf("SuspicionMin(N=1000) = %v, want 4*log10(1000)*1s = 12s", got)
	}
	// Serf's simulator page: 99.9% of 10,000 nodes at 2.2s with 200ms
	// rounds and fanout 3.
	if got := SerfModelTime(10000, 3, 0, 200*time.Millisecond, 0.999); got != 2200*time.Millisecond {
		t.Errorf("SerfModelTime(10000, 99.9%%) = %v, want 2.2s", got)
	}
}

func TestReplaceRegion(t *testing.T) {
	doc := "a\n<!-- sim:start -->\nold\n<!-- sim:end -->\nb\n"
	got, err := ReplaceRegion(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\n<!-- sim:start -->\nnew\n<!-- sim:end -->\nb\n"; got != want {
		t.Errorf("ReplaceRegion() = %q, want %q", got, want)
	}
	if _, err := ReplaceRegion("no markers", "x"); err == nil {
		t.Error("ReplaceRegion() without markers: no error")
	}
}
