package agent

import (
	"testing"
	"time"
)

// The healing keys reach the library's config; unset ones keep its
// defaults, and without heal_interval healing stays off.
func TestHealKeysApply(t *testing.T) {
	tests := []struct {
		name string
		conf Config
		want healSettings
	}{
		{"off by default", Config{}, healSettings{}},
		{"off ignores the rest", Config{HealIntervalRaw: "0s", HealMaxPeers: 5}, healSettings{}},
		{"defaults", Config{HealIntervalRaw: "30s"},
			healSettings{30 * time.Second, DefaultHealMaxInterval, DefaultHealJitter, DefaultHealMaxPeers}},
		{"unset cap follows a long interval", Config{HealIntervalRaw: "10m"},
			healSettings{10 * time.Minute, 10 * time.Minute, DefaultHealJitter, DefaultHealMaxPeers}},
		{"all set", Config{HealIntervalRaw: "1s", HealMaxIntervalRaw: "1m", HealJitter: valuePtr(0.0), HealMaxPeers: 8},
			healSettings{time.Second, time.Minute, 0, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.conf
			c.NodeName = "healer"
			conf, _, err := LoadConfig(&c, nil)
			if err != nil {
				t.Fatalf("LoadConfig() error: %v", err)
			}
			g, _, err := newGossipSetup(conf)
			if err != nil {
				t.Fatalf("newGossipSetup() error: %v", err)
			}
			sc := g.serf
			got := healSettings{sc.HealInterval, sc.HealMaxInterval, sc.HealJitter, sc.HealMaxPeers}
			want := tc.want
			if want.interval == 0 {
				// Off: the library's defaults stay as they are.
				want = healSettings{0, DefaultHealMaxInterval, DefaultHealJitter, DefaultHealMaxPeers}
			}
			if got != want {
				t.Errorf("serf config healing = %+v, want %+v", got, want)
			}
			if err := sc.Validate(); err != nil {
				t.Errorf("serf config Validate() = %v", err)
			}
		})
	}
}

// A value out of bounds stops the agent with the key and the bound.
func TestHealKeyErrors(t *testing.T) {
	tests := []struct {
		conf Config
		want string
	}{
		{Config{HealIntervalRaw: "1m", HealMaxIntervalRaw: "30s"},
			"Invalid healing: heal_max_interval (30s) must be at least heal_interval (1m0s)"},
		{Config{HealIntervalRaw: "1m", HealJitter: valuePtr(1.0)},
			"Invalid healing: heal_jitter must be at least 0 and below 1, not 1"},
		{Config{HealIntervalRaw: "1m", HealJitter: valuePtr(-0.5)},
			"Invalid healing: heal_jitter must be at least 0 and below 1, not -0.5"},
		{Config{HealIntervalRaw: "1m", HealMaxPeers: -1},
			"Invalid healing: heal_max_peers must be at least 1, not -1"},
	}
	for _, tt := range tests {
		c := tt.conf
		c.NodeName = "bad"
		_, _, err := LoadConfig(&c, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("LoadConfig(%+v) error = %v, want %q", tt.conf, err, tt.want)
		}
	}
}

// The durations are checked as they are decoded, naming the key.
func TestHealDurationsDecode(t *testing.T) {
	for key, want := range map[string]string{
		"heal_interval":     `heal_interval: time: invalid duration "soon"`,
		"heal_max_interval": `heal_max_interval: time: invalid duration "soon"`,
	} {
		c := &Config{}
		switch key {
		case "heal_interval":
			c.HealIntervalRaw = "soon"
		case "heal_max_interval":
			c.HealMaxIntervalRaw = "soon"
		}
		if err := c.CheckDurations(); err == nil || err.Error() != want {
			t.Errorf("CheckDurations() with %s = %v, want %q", key, err, want)
		}
	}
}
