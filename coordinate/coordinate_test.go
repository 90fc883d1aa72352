package coordinate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

func TestNewCoordinate(t *testing.T) {
	got := NewCoordinate(DefaultConfig())
	want := &Coordinate{Vec: make([]float64, 8), Error: 1.5, Adjustment: 0, Height: 1e-5}
	checkCoordinate(t, "NewCoordinate(DefaultConfig())", got, want, 0)
}

func TestCoordinate_DistanceTo(t *testing.T) {
	// The values are powers of two so that the expected durations are
	// exact: 0.375² + 0.5² = 0.625², plus heights 0.125 + 0.25 = 1s.
	at := func(x, y, height, adj float64) *Coordinate {
		return &Coordinate{Vec: []float64{x, y}, Height: height, Adjustment: adj}
	}
	tests := []struct {
		name string
		a, b *Coordinate
		want time.Duration
	}{
		{"fresh coordinates", NewCoordinate(DefaultConfig()), NewCoordinate(DefaultConfig()), 20 * time.Microsecond},
		{"same point", at(0.5, 0.5, 0.25, 0), at(0.5, 0.5, 0.25, 0), 500 * time.Millisecond},
		{"vector and heights", at(0, 0, 0.125, 0), at(0.375, 0.5, 0.25, 0), time.Second},
		{"positive adjustments", at(0, 0, 0.125, 0.0625), at(0.375, 0.5, 0.25, 0.0625), 1125 * time.Millisecond},
		{"negative adjustments", at(0, 0, 0.125, -0.25), at(0.375, 0.5, 0.25, -0.25), 500 * time.Millisecond},
		{"adjustments cancel the distance", at(0, 0, 0.125, -0.5), at(0.375, 0.5, 0.25, -0.5), time.Second},
		{"adjustments overshoot", at(0, 0, 0.125, -2), at(0.375, 0.5, 0.25, 0), time.Second},
		{"truncated to nanoseconds", at(0, 0, 1.25e-9, 0), at(0, 0, 1.25e-9, 0), 2 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.DistanceTo(tt.b); got != tt.want {
				t.Errorf("DistanceTo() = %v, want %v", got, tt.want)
			}
			if got := tt.b.DistanceTo(tt.a); got != tt.want {
				t.Errorf("reverse DistanceTo() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCoordinate_rawDistanceTo(t *testing.T) {
	a := &Coordinate{Vec: []float64{0, 0}, Height: 0.125, Adjustment: 3}
	b := &Coordinate{Vec: []float64{0.375, 0.5}, Height: 0.25, Adjustment: 4}
	if got, want := a.rawDistanceTo(b), 1.0; got != want {
		t.Errorf("rawDistanceTo() = %v, want %v", got, want)
	}
}

func TestCoordinate_DimensionMismatchPanics(t *testing.T) {
	a := NewCoordinate(configDims(3))
	b := NewCoordinate(configDims(4))
	expectPanic(t, "DistanceTo", DimensionalityConflictError{}, func() { a.DistanceTo(b) })
	expectPanic(t, "ApplyForce", DimensionalityConflictError{}, func() { a.ApplyForce(DefaultConfig(), 1, b) })

	// Code written for Serf recovers the panic and checks its type.
	func() {
		defer func() {
			r := recover()
			if _, ok := r.(DimensionalityConflictError); !ok {
				t.Errorf("recovered %T (%v), want DimensionalityConflictError", r, r)
			}
			if err, ok := r.(error); !ok || !errors.Is(err, ErrDimensionalityConflict) {
				t.Errorf("recovered %v, want an error that errors.Is ErrDimensionalityConflict", r)
			}
		}()
		a.DistanceTo(b)
	}()
}

func TestCoordinate_ApplyForce(t *testing.T) {
	cfg := configDims(3)
	tests := []struct {
		name  string
		c     *Coordinate
		force float64
		other *Coordinate
		want  *Coordinate
	}{
		{
			name:  "push away along x",
			c:     &Coordinate{Vec: []float64{0, 0, 0}, Height: 0.1},
			force: 0.5,
			other: &Coordinate{Vec: []float64{1, 0, 0}, Height: 0.2},
			// Height: (0.1 + 0.2) × 0.5 / 1 + 0.1.
			want: &Coordinate{Vec: []float64{-0.5, 0, 0}, Height: 0.25},
		},
		{
			name:  "pull towards, height floored",
			c:     &Coordinate{Vec: []float64{2, 0, 0}, Height: 0.1},
			force: -1,
			other: &Coordinate{Vec: []float64{0, 0, 0}, Height: 0.1},
			// Height: (0.1 + 0.1) × −1 / 2 + 0.1 = 0, raised to HeightMin.
			want: &Coordinate{Vec: []float64{1, 0, 0}, Height: cfg.HeightMin},
		},
		{
			name:  "diagonal",
			c:     &Coordinate{Vec: []float64{3, 4, 0}, Height: 0.5},
			force: 5,
			other: &Coordinate{Vec: []float64{0, 0, 0}, Height: 0.5},
			// Height: (0.5 + 0.5) × 5 / 5 + 0.5.
			want: &Coordinate{Vec: []float64{6, 8, 0}, Height: 1.5},
		},
		{
			name:  "zero force",
			c:     &Coordinate{Vec: []float64{1, 2, 3}, Height: 0.1},
			force: 0,
			other: &Coordinate{Vec: []float64{0, 0, 0}, Height: 0.7},
			want:  &Coordinate{Vec: []float64{1, 2, 3}, Height: 0.1},
		},
		{
			name:  "error and adjustment untouched",
			c:     &Coordinate{Vec: []float64{0, 1, 0}, Error: 0.3, Adjustment: -0.02, Height: 0.1},
			force: 1,
			other: &Coordinate{Vec: []float64{0, 0, 0}, Error: 0.9, Adjustment: 0.5, Height: 0.1},
			want:  &Coordinate{Vec: []float64{0, 2, 0}, Error: 0.3, Adjustment: -0.02, Height: 0.3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.c.Clone()
			got := tt.c.ApplyForce(cfg, tt.force, tt.other)
			checkCoordinate(t, "ApplyForce()", got, tt.want, 1e-12)
			checkCoordinate(t, "receiver after ApplyForce()", tt.c, before, 0)
		})
	}
}

func TestCoordinate_ApplyForceCoincident(t *testing.T) {
	// On top of each other there is no direction to push in: a random one
	// is used, and the height stays as it is.
	cfg := configDims(3)
	cfg.rng = rand.New(rand.NewPCG(1, 2))
	c := &Coordinate{Vec: []float64{1, 1, 1}, Height: 0.25}
	other := &Coordinate{Vec: []float64{1, 1, 1}, Height: 0.5}

	got := c.ApplyForce(cfg, 2, other)
	if moved := euclidean(got.Vec, other.Vec); !closeTo(moved, 2, 1e-12) {
		t.Errorf("distance moved = %v, want 2", moved)
	}
	if got.Height != c.Height {
		t.Errorf("Height = %v, want %v", got.Height, c.Height)
	}
}

// halfSource makes (*rand.Rand).Float64 return exactly 0.5, so every
// random component of unitVectorAt comes out as zero.
type halfSource struct{}

func (halfSource) Uint64() uint64 { return 1 << 52 }

func TestUnitVectorAt(t *testing.T) {
	tests := []struct {
		name     string
		rng      *rand.Rand
		a, b     []float64
		wantUnit []float64 // nil: any unit vector
		wantMag  float64
	}{
		{"apart", nil, []float64{3, 0, 4}, []float64{0, 0, 0}, []float64{0.6, 0, 0.8}, 5},
		{"apart, shifted", nil, []float64{1, 1, 1}, []float64{1, 3, 1}, []float64{0, -1, 0}, 2},
		{"coincident, random", rand.New(rand.NewPCG(3, 4)), []float64{1, 2, 3}, []float64{1, 2, 3}, nil, 0},
		{"within a microsecond", rand.New(rand.NewPCG(5, 6)), []float64{1e-7, 0, 0}, []float64{0, 0, 0}, nil, 0},
		{"random draw is zero", rand.New(halfSource{}), []float64{0, 0, 0}, []float64{0, 0, 0}, []float64{1, 0, 0}, 0},
		{"no dimensions", nil, []float64{}, []float64{}, []float64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unit, mag := unitVectorAt(tt.rng, tt.a, tt.b)
			if mag != tt.wantMag {
				t.Errorf("unitVectorAt() magnitude = %v, want %v", mag, tt.wantMag)
			}
			if len(unit) != len(tt.a) {
				t.Fatalf("unitVectorAt() len = %d, want %d", len(unit), len(tt.a))
			}
			if tt.wantUnit == nil {
				if n := norm(unit); !closeTo(n, 1, 1e-12) {
					t.Errorf("norm(unitVectorAt()) = %v, want 1", n)
				}
				return
			}
			for i := range tt.wantUnit {
				if !closeTo(unit[i], tt.wantUnit[i], 1e-12) {
					t.Errorf("unitVectorAt()[%d] = %v, want %v", i, unit[i], tt.wantUnit[i])
				}
			}
		})
	}
}

func TestCoordinate_IsValid(t *testing.T) {
	fields := []struct {
		name string
		set  func(c *Coordinate, v float64)
	}{
		{"Vec[0]", func(c *Coordinate, v float64) { c.Vec[0] = v }},
		{"Vec[7]", func(c *Coordinate, v float64) { c.Vec[7] = v }},
		{"Error", func(c *Coordinate, v float64) { c.Error = v }},
		{"Adjustment", func(c *Coordinate, v float64) { c.Adjustment = v }},
		{"Height", func(c *Coordinate, v float64) { c.Height = v }},
	}
	values := []struct {
		name  string
		v     float64
		valid bool
	}{
		{"finite", -12.5, true},
		{"NaN", math.NaN(), false},
		{"+Inf", math.Inf(1), false},
		{"-Inf", math.Inf(-1), false},
	}
	if !NewCoordinate(DefaultConfig()).IsValid() {
		t.Fatalf("NewCoordinate().IsValid() = false, want true")
	}
	for _, f := range fields {
		for _, v := range values {
			t.Run(f.name+"="+v.name, func(t *testing.T) {
				c := NewCoordinate(DefaultConfig())
				f.set(c, v.v)
				if got := c.IsValid(); got != v.valid {
					t.Errorf("IsValid() = %v, want %v", got, v.valid)
				}
			})
		}
	}
}

func TestCoordinate_IsCompatibleWith(t *testing.T) {
	tests := []struct {
		a, b uint
		want bool
	}{
		{8, 8, true},
		{3, 3, true},
		{8, 3, false},
		{3, 8, false},
	}
	for _, tt := range tests {
		a, b := NewCoordinate(configDims(tt.a)), NewCoordinate(configDims(tt.b))
		if got := a.IsCompatibleWith(b); got != tt.want {
			t.Errorf("%d dims IsCompatibleWith(%d dims) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCoordinate_Clone(t *testing.T) {
	orig := &Coordinate{Vec: []float64{1, 2, 3}, Error: 0.5, Adjustment: 0.25, Height: 0.125}
	want := &Coordinate{Vec: []float64{1, 2, 3}, Error: 0.5, Adjustment: 0.25, Height: 0.125}

	clone := orig.Clone()
	checkCoordinate(t, "Clone()", clone, want, 0)

	clone.Vec[0] = 100
	clone.Error, clone.Adjustment, clone.Height = 9, 9, 9
	checkCoordinate(t, "original after changing the clone", orig, want, 0)

	orig.Vec[1] = 200
	if clone.Vec[1] != 2 {
		t.Errorf("clone Vec[1] = %v after changing the original, want 2", clone.Vec[1])
	}

	if got := (&Coordinate{}).Clone().Vec; got == nil || len(got) != 0 {
		t.Errorf("Clone() of a nil Vec = %#v, want empty non-nil", got)
	}
}

// TestCoordinate_Wire pins the msgpack form Serf puts after the version
// byte of a ping ack: a map keyed by the field names, in sorted order.
func TestCoordinate_Wire(t *testing.T) {
	const freshHex = "84" +
		"aa41646a7573746d656e74" + "cb0000000000000000" + // "Adjustment" 0
		"a54572726f72" + "cb3ff8000000000000" + // "Error" 1.5
		"a6486569676874" + "cb3ee4f8b588e368f1" + // "Height" 1e-5
		"a3566563" + "98" // "Vec", array of 8 ...
	want, err := hex.DecodeString(freshHex + strings.Repeat("cb0000000000000000", 8))
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(NewCoordinate(DefaultConfig())); err != nil {
		t.Fatalf("Encode() error = %v", err)
	}
	if got := buf.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("Encode(NewCoordinate()) = %x, want %x", got, want)
	}
	if got, wantLen := buf.Len(), 129; got != wantLen {
		t.Errorf("encoded length = %d, want %d (130 with the version byte)", got, wantLen)
	}

	in := &Coordinate{Vec: []float64{0.001, -0.002, 0, 0, 0, 0, 0, 3}, Error: 0.75, Adjustment: -1e-4, Height: 2e-5}
	buf.Reset()
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(in); err != nil {
		t.Fatalf("Encode() error = %v", err)
	}
	var out Coordinate
	if err := codec.NewDecoder(&buf, &codec.MsgpackHandle{}).Decode(&out); err != nil {
		t.Fatalf("Decode() error = %v", err)
	}
	checkCoordinate(t, "Decode(Encode())", &out, in, 0)
}
