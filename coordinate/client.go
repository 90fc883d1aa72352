package coordinate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// MaxRTT is the longest round trip time Update accepts. Anything longer is
// taken to be a measurement fault rather than a network property.
const MaxRTT = 10 * time.Second

// Errors returned by SetCoordinate and Update. Their texts are Serf's, which
// end up in Serf's "Rejected coordinate" log lines.
var (
	// ErrIncompatible means the coordinate has a different number of
	// dimensions from the client's own.
	ErrIncompatible = errors.New("dimensions aren't compatible")

	// ErrInvalidCoordinate means the coordinate has a NaN or infinite
	// component.
	ErrInvalidCoordinate = errors.New("coordinate is invalid")
)

// rttRangeFormat is Serf's message for an RTT outside [0, MaxRTT]; the
// arguments are the rejected RTT and MaxRTT. The trailing space is Serf's.
const rttRangeFormat = "round trip time not in valid range, duration %v is not a positive value less than %v "

// ClientStats counts notable events in a Client's life.
type ClientStats struct {
	// Resets is the number of times an update produced a NaN or infinite
	// coordinate and the client started over from NewCoordinate. Serf
	// reports it as coordinate_resets.
	Resets int
}

// Client maintains one node's coordinate. Feed it every RTT the node
// measures to a peer, together with the coordinate that peer reported, and
// it moves the node's coordinate so that distances match observed RTTs.
//
// A Client is safe for concurrent use. Every method holds lock for its
// whole (short, CPU-only) run and calls nothing outside this package while
// holding it; the coordinates it returns are copies the caller owns.
type Client struct {
	// cfg is the client's own copy of the configuration, and origin a
	// fresh coordinate at the origin that gravity pulls towards. Neither
	// changes after NewClient, so reading them needs no lock.
	cfg    Config
	origin *Coordinate

	// lock guards every field below it.
	lock sync.RWMutex

	// coord is the current estimate of this node's position.
	coord *Coordinate

	// adjustSamples is a ring of the last cfg.AdjustmentWindowSize
	// residuals (measured RTT minus unadjusted estimate), in seconds, and
	// adjustNext the slot the next residual overwrites. Slots not yet
	// written hold zero, so the adjustment starts small and grows in.
	adjustSamples []float64
	adjustNext    int

	// rttSamples holds, per peer name, the last cfg.LatencyFilterSize RTT
	// samples in seconds, oldest first.
	rttSamples map[string][]float64

	stats ClientStats
}

// NewClient returns a client for a node that has observed nothing yet. It
// copies cfg, so later changes to cfg do not affect the client. As Serf's,
// it accepts every configuration with at least one dimension and rejects
// the rest with Serf's message; Config.Validate checks the other fields.
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("coordinate config: nil Config")
	}
	if cfg.Dimensionality == 0 {
		return nil, errors.New("dimensionality must be >0")
	}

	c := &Client{
		cfg:           *cfg,
		adjustSamples: make([]float64, cfg.AdjustmentWindowSize),
		rttSamples:    make(map[string][]float64),
	}
	c.origin = NewCoordinate(&c.cfg)
	c.coord = NewCoordinate(&c.cfg)
	return c, nil
}

// GetCoordinate returns a copy of the node's current coordinate.
func (c *Client) GetCoordinate() *Coordinate {
	c.lock.RLock()
	defer c.lock.RUnlock()
	return c.coord.Clone()
}

// SetCoordinate replaces the node's coordinate with a copy of coord, for
// example one restored from disk. It returns ErrIncompatible or
// ErrInvalidCoordinate, and changes nothing, if coord is unusable. The
// latency filter and adjustment window are kept.
func (c *Client) SetCoordinate(coord *Coordinate) error {
	c.lock.Lock()
	defer c.lock.Unlock()

	if err := c.check(coord); err != nil {
		return err
	}
	c.coord = coord.Clone()
	return nil
}

// ForgetNode drops the RTT samples kept for node, so that a node which
// leaves and later returns starts with an empty latency filter. Call it
// when the node is removed from the member list.
func (c *Client) ForgetNode(node string) {
	c.lock.Lock()
	defer c.lock.Unlock()
	delete(c.rttSamples, node)
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() ClientStats {
	c.lock.RLock()
	defer c.lock.RUnlock()
	return c.stats
}

// DistanceTo returns the estimated RTT between this node and other, as
// Coordinate.DistanceTo does; it panics likewise on a dimension mismatch.
func (c *Client) DistanceTo(other *Coordinate) time.Duration {
	c.lock.RLock()
	defer c.lock.RUnlock()
	return c.coord.DistanceTo(other)
}

// Update folds in one observation: rtt was measured to the peer named node,
// whose coordinate is other. It returns a copy of the node's new coordinate.
//
// It fails, changing nothing, with ErrIncompatible or ErrInvalidCoordinate
// if other is unusable, and with a range error if rtt is negative or longer
// than MaxRTT. A zero rtt is accepted (coarse clocks produce them) and
// counted in serf.coordinate.zero-rtt, as Serf's client does.
//
// An update runs these steps in order, each as in Serf:
//  1. the latency filter replaces rtt with the median of node's last
//     LatencyFilterSize samples;
//  2. a Vivaldi step moves the coordinate along the line to other, by an
//     amount weighted by both nodes' errors, and updates the error;
//  3. the residual between the filtered rtt and the unadjusted distance
//     enters the adjustment window, whose mean halved becomes Adjustment;
//  4. gravity pulls the coordinate slightly towards the origin;
//  5. if anything became NaN or infinite, the coordinate is reset to a new
//     one and Stats().Resets is incremented.
func (c *Client) Update(node string, other *Coordinate, rtt time.Duration) (*Coordinate, error) {
	c.lock.Lock()
	defer c.lock.Unlock()

	if err := c.check(other); err != nil {
		return nil, err
	}
	if rtt < 0 || rtt > MaxRTT {
		return nil, fmt.Errorf(rttRangeFormat, rtt, MaxRTT)
	}
	if rtt == 0 {
		metrics.IncrCounterWithLabels([]string{"serf", "coordinate", "zero-rtt"}, 1, c.cfg.MetricLabels)
	}

	sample := c.filterRTT(node, rtt.Seconds())
	c.moveVivaldi(other, sample)
	c.adjust(other, sample)
	c.pullToOrigin()
	if !c.coord.IsValid() {
		c.stats.Resets++
		c.coord = NewCoordinate(&c.cfg)
	}
	return c.coord.Clone(), nil
}

// check returns why coord cannot be used with this client, or nil. The
// dimension test comes first, as in Serf, so a coordinate that is both the
// wrong size and invalid reports ErrIncompatible. Must hold lock (either
// mode).
func (c *Client) check(coord *Coordinate) error {
	if !c.coord.IsCompatibleWith(coord) {
		return ErrIncompatible
	}
	if !coord.IsValid() {
		return ErrInvalidCoordinate
	}
	return nil
}

// filterRTT records sample (seconds) for node and returns the median of the
// samples now kept for it; with an even count, the upper of the two middle
// values. Must hold lock for writing.
func (c *Client) filterRTT(node string, sample float64) float64 {
	if c.cfg.LatencyFilterSize == 0 {
		// No filter at all. (Serf's client panics on this setting.)
		return sample
	}
	kept := c.rttSamples[node]
	if len(kept) < int(c.cfg.LatencyFilterSize) {
		kept = append(kept, sample)
	} else {
		// Full: slide the window left by one, dropping the oldest sample.
		copy(kept, kept[1:])
		kept[len(kept)-1] = sample
	}
	c.rttSamples[node] = kept

	sorted := slices.Clone(kept)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// moveVivaldi applies the Vivaldi rule for one observation of rtt seconds
// to other. Must hold lock for writing.
func (c *Client) moveVivaldi(other *Coordinate, rtt float64) {
	// The estimate goes through time.Duration, and so is truncated to whole
	// nanoseconds, exactly as Serf computes it.
	estimate := c.coord.DistanceTo(other).Seconds()
	rtt = math.Max(rtt, nearZero)

	// How wrong the estimate is, relative to the measurement, and how much
	// to trust ourselves versus the peer: a node that is sure of its own
	// position (low Error) moves little for a peer that is not.
	relErr := math.Abs(estimate-rtt) / rtt
	weight := c.coord.Error / math.Max(c.coord.Error+other.Error, nearZero)

	// The new error is a moving average of relErr, by at most VivaldiCE.
	ce := c.cfg.VivaldiCE * weight
	c.coord.Error = math.Min(ce*relErr+c.coord.Error*(1.0-ce), c.cfg.VivaldiErrorMax)

	// Move away from other if the estimate is too short, towards it if
	// too long.
	force := c.cfg.VivaldiCC * weight * (rtt - estimate)
	c.coord = c.coord.ApplyForce(&c.cfg, force, other)
}

// adjust records the residual of this observation in the adjustment window
// and recomputes Adjustment from it. Must hold lock for writing.
func (c *Client) adjust(other *Coordinate, rtt float64) {
	window := len(c.adjustSamples)
	if window == 0 {
		return
	}

	// Compare against the unadjusted distance: the adjustment explains
	// what the position cannot, so it must not feed on itself.
	c.adjustSamples[c.adjustNext] = rtt - c.coord.rawDistanceTo(other)
	c.adjustNext = (c.adjustNext + 1) % window

	// Sum in slot order, not age order, like Serf: float addition is not
	// associative and the result must match Serf's to the bit.
	var sum float64
	for _, s := range c.adjustSamples {
		sum += s
	}
	// Each estimate adds both nodes' adjustments, so each carries half.
	c.coord.Adjustment = sum / (2.0 * float64(window))
}

// pullToOrigin applies gravity: a force towards the origin that grows with
// the square of the distance from it, in units of GravityRho. It keeps the
// whole cluster from drifting away together, which pure Vivaldi allows.
// Must hold lock for writing.
func (c *Client) pullToOrigin() {
	// Measured from the origin (operand order matters for the rounding).
	d := c.origin.DistanceTo(c.coord).Seconds()
	force := -1.0 * math.Pow(d/c.cfg.GravityRho, 2.0)
	c.coord = c.coord.ApplyForce(&c.cfg, force, c.origin)
}
