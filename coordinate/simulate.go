package coordinate

import (
	"fmt"
	"math"
	"math/rand"
	"time"
)

// The helpers below build synthetic networks and run the algorithm over
// them, for tests and for tuning a Config. They are Serf's simulation
// helpers, kept with the same results: each truth matrix is symmetric
// with a zero diagonal, entry [i][j] the true RTT between nodes i and j,
// and the random ones are seeded so that a given size always gives the
// same matrix and the same run.

// GenerateClients returns nodes new clients, each built from config.
func GenerateClients(nodes int, config *Config) ([]*Client, error) {
	clients := make([]*Client, 0, nodes)
	for range nodes {
		c, err := NewClient(config)
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	return clients, nil
}

// newTruth returns an all-zero nodes×nodes matrix.
func newTruth(nodes int) [][]time.Duration {
	truth := make([][]time.Duration, nodes)
	for i := range truth {
		truth[i] = make([]time.Duration, nodes)
	}
	return truth
}

// fillTruth sets both [i][j] and [j][i] to rtt(i, j) for every i < j.
func fillTruth(truth [][]time.Duration, rtt func(i, j int) time.Duration) [][]time.Duration {
	for i := range truth {
		for j := i + 1; j < len(truth); j++ {
			d := rtt(i, j)
			truth[i][j] = d
			truth[j][i] = d
		}
	}
	return truth
}

// GenerateLine places the nodes on a straight line, spacing apart.
func GenerateLine(nodes int, spacing time.Duration) [][]time.Duration {
	return fillTruth(newTruth(nodes), func(i, j int) time.Duration {
		return time.Duration(j-i) * spacing
	})
}

// GenerateGrid places the nodes row by row on a square grid whose side is
// the integer square root of nodes, spacing apart.
func GenerateGrid(nodes int, spacing time.Duration) [][]time.Duration {
	side := int(math.Sqrt(float64(nodes)))
	return fillTruth(newTruth(nodes), func(i, j int) time.Duration {
		dx := float64(j%side) - float64(i%side)
		dy := float64(j/side) - float64(i/side)
		return time.Duration(math.Sqrt(dx*dx+dy*dy) * float64(spacing))
	})
}

// GenerateSplit places the nodes at two sites: every pair is lan apart,
// plus wan when the two are at different sites. Nodes 0 to nodes/2
// (inclusive) make up the first site, as in Serf.
func GenerateSplit(nodes int, lan time.Duration, wan time.Duration) [][]time.Duration {
	split := nodes / 2
	return fillTruth(newTruth(nodes), func(i, j int) time.Duration {
		if (i <= split) != (j <= split) {
			return lan + wan
		}
		return lan
	})
}

// GenerateCircle spaces nodes 1 to nodes-1 evenly around a circle of the
// given radius and puts node 0 twice the radius from all of them, as if
// above the centre: a good embedding gives node 0 a large height.
func GenerateCircle(nodes int, radius time.Duration) [][]time.Duration {
	at := func(i int) (float64, float64) {
		angle := 2.0 * math.Pi * float64(i) / float64(nodes)
		return math.Cos(angle), math.Sin(angle)
	}
	return fillTruth(newTruth(nodes), func(i, j int) time.Duration {
		if i == 0 {
			return 2 * radius
		}
		x1, y1 := at(i)
		x2, y2 := at(j)
		dx, dy := x2-x1, y2-y1
		return time.Duration(math.Sqrt(dx*dx+dy*dy) * float64(radius))
	})
}

// GenerateRandom draws every RTT from a normal distribution with the given
// mean and deviation, from a generator seeded with 1, so that a given size
// always gives the same matrix.
func GenerateRandom(nodes int, mean time.Duration, deviation time.Duration) [][]time.Duration {
	rng := rand.New(rand.NewSource(1))
	return fillTruth(newTruth(nodes), func(i, j int) time.Duration {
		seconds := mean.Seconds() + deviation.Seconds()*rng.NormFloat64()
		return time.Duration(seconds * 1e9)
	})
}

// Simulate runs cycles rounds over clients: in each, every client picks a
// random node (from a generator seeded with 1) and, unless it picked
// itself, updates with that node's coordinate and the RTT from truth,
// naming the peer "node_<index>".
func Simulate(clients []*Client, truth [][]time.Duration, cycles int) {
	rng := rand.New(rand.NewSource(1))
	for range cycles {
		for i, c := range clients {
			j := rng.Intn(len(clients))
			if j == i {
				continue
			}
			_, _ = c.Update(fmt.Sprintf("node_%d", j), clients[j].GetCoordinate(), truth[i][j])
		}
	}
}

// Stats summarises how well coordinates match a truth matrix: the largest
// and the mean relative error, |estimate - truth| / truth, over all pairs.
type Stats struct {
	ErrorMax float64
	ErrorAvg float64
}

// Evaluate compares every pair's estimated RTT (from client i towards
// client j's coordinate, i < j) with truth and returns the error summary,
// which it also prints to standard output as Serf's does
// ("Error avg=... max=..."). With fewer than two clients it returns zeros
// and prints nothing.
func Evaluate(clients []*Client, truth [][]time.Duration) (stats Stats) {
	if len(clients) < 2 {
		return stats
	}
	var sum float64
	var pairs int
	for i := range clients {
		for j := i + 1; j < len(clients); j++ {
			estimate := clients[i].DistanceTo(clients[j].GetCoordinate()).Seconds()
			actual := truth[i][j].Seconds()
			relErr := math.Abs(estimate-actual) / actual
			stats.ErrorMax = math.Max(stats.ErrorMax, relErr)
			sum += relErr
			pairs++
		}
	}
	stats.ErrorAvg = sum / float64(pairs)
	fmt.Printf("Error avg=%9.6f max=%9.6f\n", stats.ErrorAvg, stats.ErrorMax)
	return stats
}
