package coordinate

import (
	"fmt"
	"testing"
	"time"
)

// TestSerfCompatibility replays a fixed sequence of observations and checks
// the client's coordinate against the values hashicorp/serf v0.11.0's
// coordinate package produced for the very same sequence (run in a
// throwaway program outside this module; the numbers are pasted below).
//
// The setup avoids Vivaldi's random direction: the peers never move and
// none sits at the origin, so the node is never on top of a peer, and the
// first observation already pushes it well away from the origin that
// gravity measures from. Running the Serf program twice gave identical
// output, which confirms no random draw was involved.
//
// The sequence covers the latency filter (a 900ms spike, a zero RTT), the
// height floor, and the adjustment window wrapping around after 20 samples.
func TestSerfCompatibility(t *testing.T) {
	peers := []*Coordinate{
		{Vec: []float64{0.020, 0.001, 0, 0, 0, 0, 0, 0}, Error: 0.5, Adjustment: 0.0001, Height: 0.0003},
		{Vec: []float64{-0.015, 0.010, 0.003, -0.002, 0, 0.004, 0, -0.001}, Error: 1.2, Adjustment: -0.0002, Height: 0.00001},
		{Vec: []float64{0.001, -0.020, 0.012, 0.005, -0.007, 0, 0.002, 0.003}, Error: 0.05, Adjustment: 0, Height: 0.001},
		{Vec: []float64{0, 0, 0, 0, 0, 0, 0, 0.030}, Error: 1.5, Adjustment: 0.0005, Height: 0.00002},
	}
	steps := []struct {
		peer int
		rtt  time.Duration
	}{
		{0, 11400000}, {1, 25000000}, {2, 31600000}, {3, 39700000},
		{0, 12300000}, {1, 24400000}, {2, 0}, {3, 40600000},
		{0, 11700000}, {1, 25300000}, {2, 30400000}, {3, 40000000},
		{0, 12600000}, {1, 900000000}, {2, 31300000}, {3, 39400000},
		{0, 12000000}, {1, 25600000}, {2, 30700000}, {3, 40300000},
		{0, 11400000}, {1, 25000000}, {2, 31600000}, {3, 39700000},
		{0, 12300000}, {1, 24400000}, {2, 31000000}, {3, 40600000},
		{0, 11700000}, {1, 25300000},
	}
	// The client's coordinate as returned by the after-th Update.
	checkpoints := []struct {
		after int
		want  Coordinate
	}{
		{after: 1, want: Coordinate{Vec: []float64{0.0016919457835002487, 8.459728917501244e-05, 0, 0, 0, 0, 0, 0}, Error: 1.3673517105263158, Adjustment: -0.0001810231223625197, Height: 1e-05}},
		{after: 2, want: Coordinate{Vec: []float64{0.0022635675406572466, -0.00025495938983076735, -0.00010273612098519899, 6.8490747323466e-05, 0, -0.000136981494646932, 0, 3.4245373661733e-05}, Error: 1.2129242836611298, Adjustment: -7.812728797933167e-05, Height: 1.068490554243572e-05}},
		{after: 3, want: Coordinate{Vec: []float64{0.002332620146813095, 0.0008240903306282523, -0.0007641403510238116, -0.00020101205075173843, 0.0003825440507723044, -0.00014446739959981508, -0.00010929830022065839, -0.0001278306004310338}, Error: 0.9649013713587931, Adjustment: 2.655768054543265e-05, Height: 6.591797404570716e-05}},
		{after: 7, want: Coordinate{Vec: []float64{0.0037831199051901496, 0.0014065738357885728, -0.0012488918100167555, -0.00034114020083194426, 0.0006320110143001387, -0.00022059247590773814, -0.00018057457551432532, -0.0010698043477985898}, Error: 0.609563112019997, Adjustment: 0.0002798101086505946, Height: 8.519875161372365e-05}},
		{after: 14, want: Coordinate{Vec: []float64{0.005438545772368102, 0.0015358775546163864, -0.0013962282587396942, -0.0003613670425890463, 0.0006957923978647615, -0.0002712550546287094, -0.00019879782796136035, -0.0019573521623832296}, Error: 0.37783506853490784, Adjustment: 0.0006512716031306407, Height: 7.201726391856545e-05}},
		{after: 21, want: Coordinate{Vec: []float64{0.006299265627094514, 0.0017246591761899642, -0.0015008342630320342, -0.00039896657461782495, 0.0007535891730621235, -0.0002786228122816691, -0.0002153111923034637, -0.0023439652199090766}, Error: 0.23412382121748904, Adjustment: 0.0011665324334291436, Height: 6.714746162107303e-05}},
		{after: 30, want: Coordinate{Vec: []float64{0.006837234377338522, 0.0018738491940822218, -0.0015764608816565514, -0.00042963892449383276, 0.0007972530707067239, -0.0002796551091647964, -0.00022778659163049232, -0.00256423645440548}, Error: 0.15324474383848508, Adjustment: 0.0009146559850339361, Height: 6.488395875406489e-05}},
	}
	// Serf's Client.DistanceTo each peer after the last step.
	wantDistances := []time.Duration{14945410, 25033280, 30669938, 34878037}

	// Same arithmetic in the same order gives the same bits on amd64; the
	// tolerance only allows for platforms that fuse multiply-adds.
	const tol = 1e-12

	c := mustClient(t, DefaultConfig())
	next := 0
	for i, s := range steps {
		got, err := c.Update(fmt.Sprintf("p%d", s.peer), peers[s.peer], s.rtt)
		if err != nil {
			t.Fatalf("step %d: Update() error = %v", i+1, err)
		}
		if next < len(checkpoints) && checkpoints[next].after == i+1 {
			checkCoordinate(t, fmt.Sprintf("after %d updates", i+1), got, &checkpoints[next].want, tol)
			next++
		}
	}
	for i, want := range wantDistances {
		// Allow one nanosecond for the truncation of a value that rounding
		// may have put on either side of a whole nanosecond.
		if got := c.DistanceTo(peers[i]); got < want-1 || got > want+1 {
			t.Errorf("DistanceTo(p%d) = %v, want %v", i, got, want)
		}
	}
	if got := c.Stats().Resets; got != 0 {
		t.Errorf("Stats().Resets = %d, want 0", got)
	}
}
