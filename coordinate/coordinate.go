package coordinate

import (
	"math"
	"math/rand/v2"
	"time"
)

// Coordinate is one node's position in the Vivaldi space. All fields are in
// seconds except Error, which is dimensionless.
//
// The exported field names are part of the gossip wire format: Serf sends a
// node's Coordinate, msgpack-encoded as a map keyed by these names, in every
// ping ack. Do not rename them or add exported fields.
//
// A Coordinate is a plain value with no locking; the methods never modify
// their receiver or arguments, so sharing one between goroutines is safe as
// long as nobody writes to it.
type Coordinate struct {
	// Vec is the Euclidean part of the position, one entry per dimension.
	Vec []float64

	// Error is the node's confidence in its own position: 0 is certain, a
	// new coordinate starts at Config.VivaldiErrorMax. Updates weigh a
	// peer's observation by how their errors compare.
	Error float64

	// Adjustment is added to every distance estimate involving this node,
	// unless that would make the estimate non-positive. It soaks up the
	// part of the measured RTTs the Euclidean model cannot express.
	Adjustment float64

	// Height models the node's access link: the delay paid before a packet
	// reaches the "core" where Euclidean distance applies. It is added to
	// every distance, and never drops below Config.HeightMin through an
	// update.
	Height float64
}

// nearZero, in seconds, is the distance below which two positions count as
// one point (there is no direction from one to the other), and the floor
// that RTT samples and combined errors are raised to before dividing by them.
const nearZero = 1.0e-6

// DimensionalityConflictError is the value DistanceTo and ApplyForce panic
// with when the two coordinates have a different number of dimensions, as
// in Serf, so that code recovering from the panic can check its type.
// Check IsCompatibleWith first when either side came from the network.
type DimensionalityConflictError struct{}

// Error returns Serf's text for the conflict.
func (DimensionalityConflictError) Error() string {
	return "coordinate dimensionality does not match"
}

// ErrDimensionalityConflict is DimensionalityConflictError as an error
// value: the recovered panic value equals it, and errors.Is matches it.
var ErrDimensionalityConflict error = DimensionalityConflictError{}

// NewCoordinate returns the coordinate of a node that has observed nothing
// yet: at the origin, with the maximum error, no adjustment and the minimum
// height. With DefaultConfig that is 8 zeros, Error 1.5, Height 1e-5.
func NewCoordinate(cfg *Config) *Coordinate {
	return &Coordinate{
		Vec:    make([]float64, cfg.Dimensionality),
		Error:  cfg.VivaldiErrorMax,
		Height: cfg.HeightMin,
	}
}

// Clone returns a deep copy of c. The copy's Vec is never nil, even when
// c's is.
func (c *Coordinate) Clone() *Coordinate {
	out := *c
	out.Vec = make([]float64, len(c.Vec))
	copy(out.Vec, c.Vec)
	return &out
}

// IsValid reports whether every component of c is a finite number, that is
// neither NaN nor ±Inf. A coordinate received from a peer must be valid
// before it is used; one that went invalid locally is reset by the Client.
func (c *Coordinate) IsValid() bool {
	for _, v := range c.Vec {
		if !isFinite(v) {
			return false
		}
	}
	return isFinite(c.Error) && isFinite(c.Adjustment) && isFinite(c.Height)
}

// IsCompatibleWith reports whether c and other have the same number of
// dimensions, which is what DistanceTo and ApplyForce require.
func (c *Coordinate) IsCompatibleWith(other *Coordinate) bool {
	return len(c.Vec) == len(other.Vec)
}

// ApplyForce returns a copy of c pushed by force seconds along the line from
// other to c: a positive force moves it away from other, a negative one
// towards it. When the two are at least a microsecond apart the height is
// scaled by the same force (floored at cfg.HeightMin); when they coincide a
// random direction is used and the height is left alone. It panics with
// DimensionalityConflictError if the dimensions differ.
func (c *Coordinate) ApplyForce(cfg *Config, force float64, other *Coordinate) *Coordinate {
	if !c.IsCompatibleWith(other) {
		panic(DimensionalityConflictError{})
	}

	out := c.Clone()
	unit, mag := unitVectorAt(cfg.rng, c.Vec, other.Vec)
	for i := range out.Vec {
		out.Vec[i] += unit[i] * force
	}
	if mag > nearZero {
		// Grow or shrink the combined height in proportion to how far the
		// force moves us relative to the current separation.
		h := (out.Height+other.Height)*force/mag + out.Height
		out.Height = math.Max(h, cfg.HeightMin)
	}
	return out
}

// DistanceTo returns the estimated round trip time between c and other:
// the Euclidean distance plus both heights, plus both adjustments when that
// sum is still positive. The result is truncated to whole nanoseconds. It
// panics with DimensionalityConflictError if the dimensions differ.
//
// Two new coordinates from DefaultConfig are 20µs apart (two heights).
func (c *Coordinate) DistanceTo(other *Coordinate) time.Duration {
	if !c.IsCompatibleWith(other) {
		panic(DimensionalityConflictError{})
	}

	d := c.rawDistanceTo(other)
	// A negative total adjustment may not push the estimate to zero or
	// below; in that case the unadjusted value is the better guess.
	if adjusted := d + c.Adjustment + other.Adjustment; adjusted > 0 {
		d = adjusted
	}
	return time.Duration(d * float64(time.Second))
}

// rawDistanceTo returns the distance in seconds between c and other without
// the adjustments. The caller has checked the dimensions.
func (c *Coordinate) rawDistanceTo(other *Coordinate) float64 {
	return euclidean(c.Vec, other.Vec) + c.Height + other.Height
}

// euclidean returns ‖a − b‖₂. a and b have the same length.
func euclidean(a, b []float64) float64 {
	var sum float64
	for i := range a {
		d := a[i] - b[i]
		sum += d * d
	}
	return math.Sqrt(sum)
}

// unitVectorAt returns the unit vector pointing from b towards a, and the
// distance between them. If a and b are closer than nearZero there is no
// such direction: it then returns a random unit vector (from rng, or the
// shared source when rng is nil) and a distance of 0, so that coincident
// nodes still push each other apart. Should the random draw itself be
// too short to normalise, it settles for the first axis.
func unitVectorAt(rng *rand.Rand, a, b []float64) ([]float64, float64) {
	v := make([]float64, len(a))
	if len(v) == 0 {
		return v, 0
	}

	for i := range v {
		v[i] = a[i] - b[i]
	}
	if mag := norm(v); mag > nearZero {
		scale(v, mag)
		return v, mag
	}

	for i := range v {
		if rng != nil {
			v[i] = rng.Float64() - 0.5
		} else {
			v[i] = rand.Float64() - 0.5
		}
	}
	if mag := norm(v); mag > nearZero {
		scale(v, mag)
		return v, 0
	}

	clear(v)
	v[0] = 1
	return v, 0
}

// norm returns the Euclidean length of v.
func norm(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	return math.Sqrt(sum)
}

// scale divides v in place by its length mag. It multiplies by the
// reciprocal rather than dividing each component: the two can differ in the
// last bit, and Serf multiplies, so this keeps positions bit-identical to
// what a Serf node computes from the same inputs.
func scale(v []float64, mag float64) {
	inv := 1 / mag
	for i := range v {
		v[i] *= inv
	}
}
