package coordinate

import (
	"math"
	"testing"
)

// closeTo reports whether got is within tol of want, absolutely or
// relatively to the larger magnitude, whichever is looser.
func closeTo(got, want, tol float64) bool {
	diff := math.Abs(got - want)
	return diff <= tol || diff <= tol*math.Max(math.Abs(got), math.Abs(want))
}

// checkCoordinate fails t if any component of got differs from want by
// more than tol (see closeTo). name prefixes the messages.
func checkCoordinate(t testing.TB, name string, got, want *Coordinate, tol float64) {
	t.Helper()
	if len(got.Vec) != len(want.Vec) {
		t.Fatalf("%s: len(Vec) = %d, want %d", name, len(got.Vec), len(want.Vec))
	}
	for i := range want.Vec {
		if !closeTo(got.Vec[i], want.Vec[i], tol) {
			t.Errorf("%s: Vec[%d] = %v, want %v", name, i, got.Vec[i], want.Vec[i])
		}
	}
	if !closeTo(got.Error, want.Error, tol) {
		t.Errorf("%s: Error = %v, want %v", name, got.Error, want.Error)
	}
	if !closeTo(got.Adjustment, want.Adjustment, tol) {
		t.Errorf("%s: Adjustment = %v, want %v", name, got.Adjustment, want.Adjustment)
	}
	if !closeTo(got.Height, want.Height, tol) {
		t.Errorf("%s: Height = %v, want %v", name, got.Height, want.Height)
	}
}

// mustClient returns a new client for cfg, failing t if cfg is rejected.
func mustClient(t testing.TB, cfg *Config) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	return c
}

// configDims returns DefaultConfig with the given dimensionality.
func configDims(dims uint) *Config {
	cfg := DefaultConfig()
	cfg.Dimensionality = dims
	return cfg
}

// expectPanic runs f and fails t unless it panics with want.
func expectPanic(t testing.TB, name string, want any, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if got := recover(); got != want {
			t.Errorf("%s: panic value = %v, want %v", name, got, want)
		}
	}()
	f()
}
