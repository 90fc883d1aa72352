package coordinate

import (
	"fmt"
	"math"
	"math/rand/v2"

	metrics "github.com/hashicorp/go-metrics"
)

// Config holds the tuning parameters of the Vivaldi algorithm. Every
// distance-like value is in seconds. Start from DefaultConfig, which holds
// Serf's settings, and keep them alike on every node of a cluster: a peer
// whose coordinate has a different Dimensionality is rejected outright.
//
// The papers referred to below are:
//
//   - [Vivaldi] Dabek et al., "Vivaldi: A Decentralized Network Coordinate
//     System", SIGCOMM 2004.
//   - [Wild] Ledlie, Gardner and Seltzer, "Network Coordinates in the Wild",
//     NSDI 2007.
//   - [Euclid] Lee et al., "On Suitability of Euclidean Embedding for
//     Host-Based Network Coordinate Systems", IEEE/ACM ToN 18(1), 2010.
type Config struct {
	// Dimensionality is the number of Euclidean dimensions in Vec, not
	// counting Height. Default 8, following [Wild]. Must be at least 1.
	// Coordinates of different dimensionality cannot be compared, so every
	// node of a cluster must use the same value.
	Dimensionality uint

	// VivaldiErrorMax is the error estimate (dimensionless) of a node that
	// has made no observation yet, and the ceiling the estimate is clamped
	// to after every update. Default 1.5. Must be positive.
	VivaldiErrorMax float64

	// VivaldiCE (dimensionless, 0..1) bounds how far a single observation
	// can move a node's error estimate; the "ce" of [Vivaldi]. Default 0.25.
	// Zero freezes the error estimate at its current value.
	VivaldiCE float64

	// VivaldiCC (dimensionless, 0..1) bounds how far a single observation
	// can move a node's position; the "cc" of [Vivaldi]. Default 0.25.
	// Zero freezes the position, leaving only gravity and the adjustment.
	VivaldiCC float64

	// AdjustmentWindowSize is the number of recent observations (over all
	// peers) whose residual RTT is averaged into Coordinate.Adjustment, as
	// proposed in [Euclid]. Default 20. Zero disables the adjustment term.
	AdjustmentWindowSize uint

	// HeightMin is the smallest Height, in seconds, a coordinate may get
	// from an update; it is also the Height of a new coordinate. Default
	// 1e-5 (10µs). Must be positive. It adds a small constant to every
	// estimate, so it should stay well below the cluster's real RTTs.
	HeightMin float64

	// LatencyFilterSize is the number of recent RTT samples kept per peer;
	// an update uses their median, which rides out one-off spikes at the
	// cost of a little lag, see [Wild]. Default 3. Must be at least 1;
	// 1 turns the filter off.
	LatencyFilterSize uint

	// GravityRho, in seconds, sets the strength of the pull towards the
	// origin that stops a cluster's coordinates from drifting as a whole,
	// see [Wild]. The pull grows with (distance/GravityRho)², so a larger
	// value means weaker gravity. Default 150. Must be positive.
	GravityRho float64

	// MetricLabels are added to the serf.coordinate.zero-rtt counter that
	// Update increments, through go-metrics' global sink as in Serf, for
	// every RTT of zero it is given. Serf's library sets its own
	// Config.MetricLabels here. Nil adds none.
	MetricLabels []metrics.Label

	// rng, when non-nil, supplies the random direction used to separate
	// two coordinates that sit on top of each other. Tests set it to get
	// repeatable runs; nil uses the shared source of math/rand/v2. A
	// *rand.Rand is not safe for concurrent use, so a Config carrying one
	// must back at most one Client at a time.
	rng *rand.Rand
}

// DefaultConfig returns Serf's settings: 8 dimensions, error ceiling 1.5,
// ce and cc 0.25, an adjustment window of 20, a minimum height of 10µs, a
// 3-sample latency filter and a gravity rho of 150s.
func DefaultConfig() *Config {
	return &Config{
		Dimensionality:       8,
		VivaldiErrorMax:      1.5,
		VivaldiCE:            0.25,
		VivaldiCC:            0.25,
		AdjustmentWindowSize: 20,
		HeightMin:            10.0e-6,
		LatencyFilterSize:    3,
		GravityRho:           150.0,
	}
}

// Validate reports the first field that is outside its documented range.
// NaN and infinite values are rejected everywhere. NewClient does not call
// it: like Serf's, it accepts any configuration with at least one
// dimension, and a client built from values outside these ranges resets
// its coordinate whenever the maths goes wrong instead of failing. Call
// Validate to catch such settings early.
func (c *Config) Validate() error {
	switch {
	case c.Dimensionality < 1:
		return fmt.Errorf("coordinate config: Dimensionality must be at least 1, got %d", c.Dimensionality)
	case !isFinite(c.VivaldiErrorMax) || c.VivaldiErrorMax <= 0:
		return fmt.Errorf("coordinate config: VivaldiErrorMax must be positive, got %v", c.VivaldiErrorMax)
	case math.IsNaN(c.VivaldiCE) || c.VivaldiCE < 0 || c.VivaldiCE > 1:
		return fmt.Errorf("coordinate config: VivaldiCE must be between 0 and 1, got %v", c.VivaldiCE)
	case math.IsNaN(c.VivaldiCC) || c.VivaldiCC < 0 || c.VivaldiCC > 1:
		return fmt.Errorf("coordinate config: VivaldiCC must be between 0 and 1, got %v", c.VivaldiCC)
	case !isFinite(c.HeightMin) || c.HeightMin <= 0:
		return fmt.Errorf("coordinate config: HeightMin must be positive, got %v", c.HeightMin)
	case c.LatencyFilterSize < 1:
		return fmt.Errorf("coordinate config: LatencyFilterSize must be at least 1, got %d", c.LatencyFilterSize)
	case !isFinite(c.GravityRho) || c.GravityRho <= 0:
		return fmt.Errorf("coordinate config: GravityRho must be positive, got %v", c.GravityRho)
	}
	return nil
}

// isFinite reports whether f is neither NaN nor an infinity.
func isFinite(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}
