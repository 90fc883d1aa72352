package bench

import (
	"math"
	"sync/atomic"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 7}, 5},
	} {
		in := append([]float64(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Errorf("Median reordered its input: %v, was %v", tc.in, in)
				break
			}
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1
	}
	for _, tc := range []struct {
		in   []float64
		p    float64
		want float64
	}{
		{hundred, 99, 99},
		{hundred, 100, 100},
		{hundred, 50, 50},
		{hundred, 1, 1},
		{[]float64{0.3, 0.1, 0.2}, 99, 0.3}, // few samples: the maximum
		{[]float64{0.3, 0.1, 0.2}, 50, 0.2},
		{[]float64{7}, 99, 7},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tc.in), tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 99); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %v, want NaN", got)
	}
}

func TestMeanMax(t *testing.T) {
	if got := Mean([]float64{1, 2, 6}); got != 3 {
		t.Errorf("Mean = %v, want 3", got)
	}
	if got := Max([]float64{1, 7, 6}); got != 7 {
		t.Errorf("Max = %v, want 7", got)
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(Max(nil)) {
		t.Errorf("Mean(nil), Max(nil) = %v, %v, want NaN", Mean(nil), Max(nil))
	}
}

func TestNearlyFormed(t *testing.T) {
	c := func(alive int) Counts { return Counts{Members: alive} }
	for _, tc := range []struct {
		last []Counts
		want bool
	}{
		{[]Counts{c(50), c(45), c(49)}, true},       // 45 of 50 is nine in ten
		{[]Counts{c(50), c(44), c(49)}, false},      // 44 is not
		{[]Counts{c(200), {}, c(200)}, false},       // an agent that never answered
		{[]Counts{{Members: 50, Failed: 6}}, false}, // failed members are not alive
	} {
		if got := nearlyFormed(tc.last, 50); tc.last[0].Members == 200 {
			if got = nearlyFormed(tc.last, 200); got != tc.want {
				t.Errorf("nearlyFormed(%v, 200) = %v, want %v", tc.last, got, tc.want)
			}
		} else if got != tc.want {
			t.Errorf("nearlyFormed(%v, 50) = %v, want %v", tc.last, got, tc.want)
		}
	}
}

// TestFarFromFormed: an agent not yet done that counts fewer than half
// of the agents alive, or has not answered at all, keeps a join far
// from formed; agents done (-1) do not.
func TestFarFromFormed(t *testing.T) {
	for _, tc := range []struct {
		alive []int32
		want  bool
	}{
		{[]int32{-1, -1, -1, -1}, false},
		{[]int32{2, 3, -1, 4}, false},
		{[]int32{1, 4, 4, -1}, true},
		{[]int32{0, -1, -1, -1}, true},
		{[]int32{2, 2, 2}, false},
		{[]int32{1, 2, 2}, true},
	} {
		alive := make([]atomic.Int32, len(tc.alive))
		for i, a := range tc.alive {
			alive[i].Store(a)
		}
		if got := farFromFormed(alive); got != tc.want {
			t.Errorf("farFromFormed(%v) = %v, want %v", tc.alive, got, tc.want)
		}
	}
}
