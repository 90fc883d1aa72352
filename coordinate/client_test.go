package coordinate

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// peerAt returns a peer coordinate at distance x seconds along the first
// axis, otherwise like a new one.
func peerAt(cfg *Config, x float64) *Coordinate {
	c := NewCoordinate(cfg)
	c.Vec[0] = x
	return c
}

func TestNewClient(t *testing.T) {
	if _, err := NewClient(nil); err == nil {
		t.Errorf("NewClient(nil) error = nil, want an error")
	}

	bad := DefaultConfig()
	bad.Dimensionality = 0
	if _, err := NewClient(bad); err == nil || err.Error() != "dimensionality must be >0" {
		t.Errorf("NewClient(Dimensionality 0) error = %v, want Serf's %q", err, "dimensionality must be >0")
	}

	cfg := DefaultConfig()
	c := mustClient(t, cfg)
	checkCoordinate(t, "GetCoordinate()", c.GetCoordinate(), NewCoordinate(DefaultConfig()), 0)
	if got := c.Stats(); got != (ClientStats{}) {
		t.Errorf("Stats() = %+v, want zero", got)
	}

	// The client keeps its own copy of the configuration.
	cfg.Dimensionality = 2
	cfg.GravityRho = 1
	if got, want := c.cfg, *DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("client config after changing the caller's = %+v, want %+v", got, want)
	}
}

func TestClient_GetCoordinateIsACopy(t *testing.T) {
	c := mustClient(t, DefaultConfig())
	got := c.GetCoordinate()
	got.Vec[0] = 42
	got.Height = 42
	checkCoordinate(t, "GetCoordinate() after changing a copy", c.GetCoordinate(), NewCoordinate(DefaultConfig()), 0)
}

func TestClient_SetCoordinate(t *testing.T) {
	cfg := configDims(3)
	tests := []struct {
		name    string
		coord   *Coordinate
		wantErr error
	}{
		{"valid", &Coordinate{Vec: []float64{1, 2, 3}, Error: 0.5, Adjustment: 0.1, Height: 0.2}, nil},
		{"too few dimensions", &Coordinate{Vec: []float64{1, 2}, Error: 0.5, Height: 0.2}, ErrIncompatible},
		{"too many dimensions", NewCoordinate(DefaultConfig()), ErrIncompatible},
		{"NaN", &Coordinate{Vec: []float64{1, math.NaN(), 3}, Error: 0.5, Height: 0.2}, ErrInvalidCoordinate},
		{"infinite height", &Coordinate{Vec: []float64{1, 2, 3}, Error: 0.5, Height: math.Inf(1)}, ErrInvalidCoordinate},
		{"wrong size and NaN", &Coordinate{Vec: []float64{math.NaN()}}, ErrIncompatible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustClient(t, cfg)
			err := c.SetCoordinate(tt.coord)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetCoordinate() error = %v, want %v", err, tt.wantErr)
			}
			want := tt.coord.Clone()
			if err != nil {
				want = NewCoordinate(cfg) // unchanged
			}
			checkCoordinate(t, "GetCoordinate()", c.GetCoordinate(), want, 0)

			// The client must not alias the caller's coordinate.
			tt.coord.Vec[0] = 99
			checkCoordinate(t, "GetCoordinate() after changing the argument", c.GetCoordinate(), want, 0)
		})
	}
}

func TestClient_ErrorTexts(t *testing.T) {
	if got, want := ErrIncompatible.Error(), "dimensions aren't compatible"; got != want {
		t.Errorf("ErrIncompatible = %q, want %q", got, want)
	}
	if got, want := ErrInvalidCoordinate.Error(), "coordinate is invalid"; got != want {
		t.Errorf("ErrInvalidCoordinate = %q, want %q", got, want)
	}
}

func TestClient_UpdateRejects(t *testing.T) {
	cfg := DefaultConfig()
	good := peerAt(cfg, 0.01)
	nan := peerAt(cfg, 0.01)
	nan.Error = math.NaN()
	tests := []struct {
		name    string
		other   *Coordinate
		rtt     time.Duration
		wantErr string
	}{
		{"dimension mismatch", NewCoordinate(configDims(3)), 10 * time.Millisecond, "dimensions aren't compatible"},
		{"invalid coordinate", nan, 10 * time.Millisecond, "coordinate is invalid"},
		{"negative rtt", good, -time.Nanosecond,
			"round trip time not in valid range, duration -1ns is not a positive value less than 10s "},
		{"rtt too long", good, MaxRTT + time.Nanosecond,
			"round trip time not in valid range, duration 10.000000001s is not a positive value less than 10s "},
		{"coordinate checked before rtt", nan, -time.Second, "coordinate is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustClient(t, cfg)
			got, err := c.Update("peer", tt.other, tt.rtt)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Update() error = %q, want %q", err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("Update() coordinate = %+v, want nil", got)
			}
			// A rejected update leaves no trace.
			checkCoordinate(t, "GetCoordinate()", c.GetCoordinate(), NewCoordinate(cfg), 0)
			if len(c.rttSamples) != 0 {
				t.Errorf("RTT samples after a rejected update = %v, want none", c.rttSamples)
			}
		})
	}
}

func TestClient_UpdateAcceptsRTTBounds(t *testing.T) {
	cfg := DefaultConfig()
	for _, rtt := range []time.Duration{0, time.Nanosecond, MaxRTT} {
		c := mustClient(t, cfg)
		got, err := c.Update("peer", peerAt(cfg, 0.01), rtt)
		if err != nil {
			t.Errorf("Update(rtt %v) error = %v, want nil", rtt, err)
			continue
		}
		if !got.IsValid() {
			t.Errorf("Update(rtt %v) = %+v, want a valid coordinate", rtt, got)
		}
	}
}

func TestClient_UpdateReturnsACopy(t *testing.T) {
	cfg := DefaultConfig()
	c := mustClient(t, cfg)
	got, err := c.Update("peer", peerAt(cfg, 0.01), 5*time.Millisecond)
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	want := got.Clone()
	got.Vec[0] = 42
	checkCoordinate(t, "GetCoordinate()", c.GetCoordinate(), want, 0)
}

func TestClient_UpdateMovesTowardsTheTruth(t *testing.T) {
	// A peer 50ms away says it is at 10ms: the node must move away from it,
	// and the estimate must get closer to 50ms.
	cfg := DefaultConfig()
	c := mustClient(t, cfg)
	peer := peerAt(cfg, 0.01)
	before := c.DistanceTo(peer)
	for range 10 {
		if _, err := c.Update("peer", peer, 50*time.Millisecond); err != nil {
			t.Fatalf("Update() error = %v", err)
		}
	}
	after := c.DistanceTo(peer)
	if after <= before || after > 50*time.Millisecond {
		t.Errorf("DistanceTo() = %v after updates (was %v), want in (%v, 50ms]", after, before, before)
	}
	if got := c.GetCoordinate(); got.Vec[0] >= 0 || got.Error >= cfg.VivaldiErrorMax {
		t.Errorf("GetCoordinate() = %+v, want Vec[0] < 0 and Error < %v", got, cfg.VivaldiErrorMax)
	}
}

func TestClient_ErrorIsCapped(t *testing.T) {
	// A fresh node badly wrong about a confident peer would push its error
	// above the maximum; it must stop there.
	cfg := DefaultConfig()
	c := mustClient(t, cfg)
	peer := peerAt(cfg, 5)
	peer.Error = 0.01
	got, err := c.Update("peer", peer, time.Millisecond)
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	if got.Error != cfg.VivaldiErrorMax {
		t.Errorf("Error = %v, want %v", got.Error, cfg.VivaldiErrorMax)
	}
}

func TestClient_filterRTT(t *testing.T) {
	c := mustClient(t, DefaultConfig())
	steps := []struct {
		node   string
		sample float64
		want   float64
	}{
		{"a", 5, 5},  // [5]
		{"a", 1, 5},  // [5 1]: the upper middle
		{"a", 3, 3},  // [5 1 3]
		{"a", 9, 3},  // [1 3 9]: 5 dropped
		{"b", 7, 7},  // b has its own window
		{"a", 2, 3},  // [3 9 2]
		{"a", 10, 9}, // [9 2 10]
		{"b", 1, 7},  // [7 1]
	}
	for i, s := range steps {
		if got := c.filterRTT(s.node, s.sample); got != s.want {
			t.Errorf("step %d: filterRTT(%q, %v) = %v, want %v", i, s.node, s.sample, got, s.want)
		}
	}
	if got, want := c.rttSamples["a"], []float64{9, 2, 10}; !slices.Equal(got, want) {
		t.Errorf("samples for a = %v, want %v (oldest first)", got, want)
	}

	c.ForgetNode("a")
	if _, ok := c.rttSamples["a"]; ok {
		t.Errorf("samples for a after ForgetNode = %v, want none", c.rttSamples["a"])
	}
	if got, want := c.filterRTT("a", 4), 4.0; got != want {
		t.Errorf("filterRTT after ForgetNode = %v, want %v", got, want)
	}
	if got, want := c.rttSamples["b"], []float64{7, 1}; !slices.Equal(got, want) {
		t.Errorf("samples for b after forgetting a = %v, want %v", got, want)
	}
}

func TestClient_LatencyFilterHidesASpike(t *testing.T) {
	// Two clients see the same peer; one of them gets a 900ms spike as its
	// third sample. The median hides it, so both end in the same place.
	cfg := DefaultConfig()
	peer := peerAt(cfg, 0.02)
	steady, spiky := mustClient(t, cfg), mustClient(t, cfg)
	var got, want *Coordinate
	for _, rtt := range []time.Duration{10, 10, 900} {
		var err error
		if want, err = steady.Update("peer", peer, 10*time.Millisecond); err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		if got, err = spiky.Update("peer", peer, rtt*time.Millisecond); err != nil {
			t.Fatalf("Update() error = %v", err)
		}
	}
	checkCoordinate(t, "coordinate after a spike", got, want, 0)
}

func TestClient_ResetOnNaN(t *testing.T) {
	// With a vanishing GravityRho the pull towards the origin overflows to
	// -Inf, which poisons the coordinate; every update then resets it.
	cfg := DefaultConfig()
	cfg.GravityRho = 1e-300
	c := mustClient(t, cfg)
	for i := 1; i <= 3; i++ {
		got, err := c.Update("peer", peerAt(cfg, 0.01), 10*time.Millisecond)
		if err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		checkCoordinate(t, "Update() after a reset", got, NewCoordinate(cfg), 0)
		if got := c.Stats().Resets; got != i {
			t.Errorf("Stats().Resets = %d, want %d", got, i)
		}
	}

	// The same happens if the client's own state is corrupt.
	c = mustClient(t, DefaultConfig())
	c.coord.Vec[2] = math.NaN()
	got, err := c.Update("peer", peerAt(cfg, 0.01), 10*time.Millisecond)
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	checkCoordinate(t, "Update() after a reset", got, NewCoordinate(DefaultConfig()), 0)
	if got := c.Stats(); got.Resets != 1 {
		t.Errorf("Stats().Resets = %d, want 1", got.Resets)
	}
}

func TestClient_AdjustmentWindow(t *testing.T) {
	// With position and gravity frozen (cc 0, huge rho) the residual of
	// every observation is the same, so the adjustment climbs by a fixed
	// step until the window is full, then stays put.
	cfg := configDims(2)
	cfg.VivaldiCC = 0
	cfg.GravityRho = 1e300
	cfg.AdjustmentWindowSize = 4
	c := mustClient(t, cfg)
	if err := c.SetCoordinate(&Coordinate{Vec: []float64{0.25, 0}, Error: 1, Height: 0.125}); err != nil {
		t.Fatalf("SetCoordinate() error = %v", err)
	}
	peer := &Coordinate{Vec: []float64{0.25, 0.5}, Error: 1, Height: 0.125, Adjustment: 7}

	// Unadjusted distance 0.75s, measured 1s: residual 0.25s per sample,
	// and the window of 4 slots is divided by 2 × 4.
	for i, want := range []float64{0.03125, 0.0625, 0.09375, 0.125, 0.125, 0.125} {
		got, err := c.Update("peer", peer, time.Second)
		if err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		if !closeTo(got.Adjustment, want, 1e-15) {
			t.Errorf("update %d: Adjustment = %v, want %v", i+1, got.Adjustment, want)
		}
	}

	cfg.AdjustmentWindowSize = 0
	c = mustClient(t, cfg)
	got, err := c.Update("peer", peer, time.Second)
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	if got.Adjustment != 0 {
		t.Errorf("Adjustment with the window disabled = %v, want 0", got.Adjustment)
	}
}

func TestClient_Concurrent(t *testing.T) {
	cfg := DefaultConfig()
	c := mustClient(t, cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			peer := peerAt(cfg, 0.001*float64(g+1))
			name := fmt.Sprintf("peer%d", g)
			for i := range 200 {
				if _, err := c.Update(name, peer, time.Duration(g+i%5+1)*time.Millisecond); err != nil {
					t.Errorf("Update() error = %v", err)
					return
				}
				_ = c.GetCoordinate()
				_ = c.DistanceTo(peer)
				_ = c.Stats()
				if i%50 == 0 {
					c.ForgetNode(name)
				}
			}
		})
	}
	wg.Wait()
	if got := c.GetCoordinate(); !got.IsValid() {
		t.Errorf("GetCoordinate() = %+v after concurrent updates, want valid", got)
	}
}

// Serf's NewClient accepts every configuration with at least one
// dimension; programs written for it may hand ours settings that Validate
// calls out of range. The client must take them and keep working: every
// update either moves the coordinate or resets it, never panics.
func TestNewClient_AcceptsWhatSerfAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"zero error max", func(c *Config) { c.VivaldiErrorMax = 0 }},
		{"negative ce", func(c *Config) { c.VivaldiCE = -0.5 }},
		{"cc above one", func(c *Config) { c.VivaldiCC = 3 }},
		{"zero height min", func(c *Config) { c.HeightMin = 0 }},
		{"zero latency filter", func(c *Config) { c.LatencyFilterSize = 0 }},
		{"zero gravity rho", func(c *Config) { c.GravityRho = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(cfg)
			if cfg.Validate() == nil {
				t.Fatalf("Validate() = nil; the case must be one Validate rejects")
			}
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatalf("NewClient() error = %v, want nil as Serf's", err)
			}
			for i := range 20 {
				peer := peerAt(DefaultConfig(), float64(i)*1e-3)
				if _, err := c.Update("peer", peer, time.Duration(i+1)*time.Millisecond); err != nil {
					t.Fatalf("Update() error = %v", err)
				}
			}
			if !c.GetCoordinate().IsValid() {
				t.Errorf("GetCoordinate() = %+v, want a valid coordinate", c.GetCoordinate())
			}
		})
	}
}
