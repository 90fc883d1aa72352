package coordinate

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkClient_Update(b *testing.B) {
	cfg := DefaultConfig()
	c := mustClient(b, cfg)

	// A handful of distinct peers, so the latency filter sees several nodes.
	const numPeers = 16
	peers := make([]*Coordinate, numPeers)
	names := make([]string, numPeers)
	for i := range peers {
		peers[i] = NewCoordinate(cfg)
		peers[i].Vec[i%len(peers[i].Vec)] = 0.001 * float64(i+1)
		names[i] = fmt.Sprintf("node%d", i)
	}

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := i % numPeers
		if _, err := c.Update(names[p], peers[p], time.Duration(p+1)*time.Millisecond); err != nil {
			b.Fatalf("Update() error = %v", err)
		}
		i++
	}
}

func BenchmarkCoordinate_DistanceTo(b *testing.B) {
	cfg := DefaultConfig()
	a, other := NewCoordinate(cfg), NewCoordinate(cfg)
	for i := range a.Vec {
		a.Vec[i] = 0.001 * float64(i)
		other.Vec[i] = -0.002 * float64(i)
	}

	b.ReportAllocs()
	var sink time.Duration
	for b.Loop() {
		sink += a.DistanceTo(other)
	}
	_ = sink
}
