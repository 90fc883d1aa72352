package coordinate

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	got := DefaultConfig()
	// Serf's values, field by field.
	const want = "{Dimensionality:8 VivaldiErrorMax:1.5 VivaldiCE:0.25 VivaldiCC:0.25 " +
		"AdjustmentWindowSize:20 HeightMin:1e-05 LatencyFilterSize:3 GravityRho:150 MetricLabels:[] rng:<nil>}"
	if s := fmt.Sprintf("%+v", *got); s != want {
		t.Errorf("DefaultConfig() = %s, want %s", s, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *Config)
		wantErr string // "" means valid
	}{
		{"default", func(*Config) {}, ""},
		{"one dimension", func(c *Config) { c.Dimensionality = 1 }, ""},
		{"no adjustment window", func(c *Config) { c.AdjustmentWindowSize = 0 }, ""},
		{"no latency filtering", func(c *Config) { c.LatencyFilterSize = 1 }, ""},
		{"ce and cc at their bounds", func(c *Config) { c.VivaldiCE, c.VivaldiCC = 0, 1 }, ""},
		{"zero dimensions", func(c *Config) { c.Dimensionality = 0 }, "Dimensionality must be at least 1, got 0"},
		{"zero error max", func(c *Config) { c.VivaldiErrorMax = 0 }, "VivaldiErrorMax must be positive, got 0"},
		{"infinite error max", func(c *Config) { c.VivaldiErrorMax = math.Inf(1) }, "VivaldiErrorMax must be positive, got +Inf"},
		{"negative ce", func(c *Config) { c.VivaldiCE = -0.1 }, "VivaldiCE must be between 0 and 1, got -0.1"},
		{"NaN ce", func(c *Config) { c.VivaldiCE = math.NaN() }, "VivaldiCE must be between 0 and 1, got NaN"},
		{"cc above one", func(c *Config) { c.VivaldiCC = 1.5 }, "VivaldiCC must be between 0 and 1, got 1.5"},
		{"zero height min", func(c *Config) { c.HeightMin = 0 }, "HeightMin must be positive, got 0"},
		{"NaN height min", func(c *Config) { c.HeightMin = math.NaN() }, "HeightMin must be positive, got NaN"},
		{"zero latency filter", func(c *Config) { c.LatencyFilterSize = 0 }, "LatencyFilterSize must be at least 1, got 0"},
		{"negative gravity rho", func(c *Config) { c.GravityRho = -150 }, "GravityRho must be positive, got -150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(cfg)
			err := cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
