package coordinate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// simulation is a truthful network: the RTT between every pair of nodes is
// fixed and known, each node runs its own Client, and a round lets every
// node ping one random peer, exactly as Serf's failure detector does. It
// is deterministic for a given seed.
type simulation struct {
	truth   [][]time.Duration
	names   []string
	clients []*Client
	rng     *rand.Rand
}

// newSimulation returns a simulation of len(truth) fresh nodes using cfg.
// The nodes share one random source (for both peer choice and Vivaldi's
// random directions), which is fine because a simulation is single-threaded.
func newSimulation(t testing.TB, cfg *Config, truth [][]time.Duration, seed uint64) *simulation {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg.rng = rng
	s := &simulation{truth: truth, rng: rng}
	for i := range truth {
		s.names = append(s.names, fmt.Sprintf("node%d", i))
		s.clients = append(s.clients, mustClient(t, cfg))
	}
	return s
}

// run plays rounds rounds. In each, every node measures the true RTT to a
// random other node and updates with that node's current coordinate.
func (s *simulation) run(t testing.TB, rounds int) {
	t.Helper()
	n := len(s.clients)
	for range rounds {
		for i, c := range s.clients {
			j := s.rng.IntN(n - 1)
			if j >= i {
				j++ // never ourselves
			}
			peer := s.clients[j].GetCoordinate()
			if _, err := c.Update(s.names[j], peer, s.truth[i][j]); err != nil {
				t.Fatalf("node %d: Update(%s) error = %v", i, s.names[j], err)
			}
		}
	}
}

// relativeErrors returns the mean and the largest of |estimate − truth| /
// truth over all pairs, with each node's estimate taken from its own
// client towards the other's coordinate.
func (s *simulation) relativeErrors() (mean, largest float64) {
	var sum float64
	var count int
	for i, c := range s.clients {
		for j := range s.clients {
			if i == j {
				continue
			}
			est := c.DistanceTo(s.clients[j].GetCoordinate()).Seconds()
			want := s.truth[i][j].Seconds()
			e := math.Abs(est-want) / want
			sum += e
			count++
			largest = math.Max(largest, e)
		}
	}
	return sum / float64(count), largest
}

// truthFrom builds an RTT matrix for n nodes from a symmetric function.
func truthFrom(n int, rtt func(i, j int) time.Duration) [][]time.Duration {
	m := make([][]time.Duration, n)
	for i := range m {
		m[i] = make([]time.Duration, n)
		for j := range m[i] {
			if i != j {
				m[i][j] = rtt(i, j)
			}
		}
	}
	return m
}

// lineTruth places n nodes on a line, spacing apart.
func lineTruth(n int, spacing time.Duration) [][]time.Duration {
	return truthFrom(n, func(i, j int) time.Duration {
		return time.Duration(math.Abs(float64(i-j))) * spacing
	})
}

// gridTruth places side×side nodes on a square grid, spacing apart.
func gridTruth(side int, spacing time.Duration) [][]time.Duration {
	return truthFrom(side*side, func(i, j int) time.Duration {
		dx := float64(i%side - j%side)
		dy := float64(i/side - j/side)
		return time.Duration(math.Hypot(dx, dy) * float64(spacing))
	})
}

// splitTruth puts the first half of n nodes in one site and the rest in
// another: lan apart within a site, lan+wan across.
func splitTruth(n int, lan, wan time.Duration) [][]time.Duration {
	return truthFrom(n, func(i, j int) time.Duration {
		if (i < n/2) != (j < n/2) {
			return lan + wan
		}
		return lan
	})
}

func TestSimulation_Converges(t *testing.T) {
	tests := []struct {
		name                string
		truth               [][]time.Duration
		rounds              int
		maxMean, maxLargest float64 // bounds on the relative errors
	}{
		{"line of 10, 10ms apart", lineTruth(10, 10*time.Millisecond), 1000, 0.01, 0.05},
		{"5x5 grid, 10ms apart", gridTruth(5, 10*time.Millisecond), 1000, 0.01, 0.05},
		{"two sites, 1ms lan, 10ms wan", splitTruth(20, time.Millisecond, 10*time.Millisecond), 1000, 0.005, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulation(t, DefaultConfig(), tt.truth, 1)
			s.run(t, tt.rounds)
			mean, largest := s.relativeErrors()
			t.Logf("relative error: mean %.4f, largest %.4f", mean, largest)
			if mean > tt.maxMean || largest > tt.maxLargest {
				t.Errorf("relative error mean %.4f, largest %.4f, want at most %v and %v",
					mean, largest, tt.maxMean, tt.maxLargest)
			}
			for i, c := range s.clients {
				if got := c.Stats().Resets; got != 0 {
					t.Errorf("node %d: Stats().Resets = %d, want 0", i, got)
				}
			}
		})
	}
}

func TestSimulation_EstimatesImproveWithTime(t *testing.T) {
	s := newSimulation(t, DefaultConfig(), gridTruth(4, 20*time.Millisecond), 7)
	s.run(t, 5)
	early, _ := s.relativeErrors()
	s.run(t, 500)
	late, _ := s.relativeErrors()
	if late >= early/2 {
		t.Errorf("mean relative error = %.4f after 505 rounds, want under half the %.4f after 5", late, early)
	}
}
