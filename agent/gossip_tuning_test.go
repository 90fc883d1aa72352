package agent

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// The tuning keys override the profile's values, and only the ones set.
func TestGossipTuningApplies(t *testing.T) {
	conf, _, err := LoadConfig(&Config{
		NodeName:                "tuned",
		Profile:                 "wan",
		GossipIntervalRaw:       "100ms",
		GossipNodes:             5,
		GossipToTheDeadTimeRaw:  "0s",
		ProbeIntervalRaw:        "2s",
		ProbeTimeoutRaw:         "1500ms",
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 2,
		RetransmitMult:          6,
		PushPullIntervalRaw:     "45s",
		TCPTimeoutRaw:           "4s",
		UDPBufferSize:           8192,
	}, nil)
	if err != nil {
		t.Fatalf("LoadConfig() error: %v", err)
	}
	g, _, err := newGossipSetup(conf)
	if err != nil {
		t.Fatalf("newGossipSetup() error: %v", err)
	}
	ml := g.serf.MemberlistConfig
	want := memberlist.DefaultWANConfig()
	want.GossipInterval, want.GossipNodes, want.GossipToTheDeadTime = 100*time.Millisecond, 5, 0
	want.ProbeInterval, want.ProbeTimeout = 2*time.Second, 1500*time.Millisecond
	want.SuspicionMult, want.SuspicionMaxTimeoutMult, want.RetransmitMult = 3, 2, 6
	want.PushPullInterval, want.TCPTimeout, want.UDPBufferSize = 45*time.Second, 4*time.Second, 8192
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"GossipInterval", ml.GossipInterval, want.GossipInterval},
		{"GossipNodes", ml.GossipNodes, want.GossipNodes},
		{"GossipToTheDeadTime", ml.GossipToTheDeadTime, want.GossipToTheDeadTime},
		{"ProbeInterval", ml.ProbeInterval, want.ProbeInterval},
		{"ProbeTimeout", ml.ProbeTimeout, want.ProbeTimeout},
		{"SuspicionMult", ml.SuspicionMult, want.SuspicionMult},
		{"SuspicionMaxTimeoutMult", ml.SuspicionMaxTimeoutMult, want.SuspicionMaxTimeoutMult},
		{"RetransmitMult", ml.RetransmitMult, want.RetransmitMult},
		{"PushPullInterval", ml.PushPullInterval, want.PushPullInterval},
		{"TCPTimeout", ml.TCPTimeout, want.TCPTimeout},
		{"UDPBufferSize", ml.UDPBufferSize, want.UDPBufferSize},
		// Not a tuning key: stays the profile's.
		{"IndirectChecks", ml.IndirectChecks, want.IndirectChecks},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// Nothing set: the profile as it is.
	plain, _, err := LoadConfig(&Config{NodeName: "plain", Profile: "local"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err = newGossipSetup(plain)
	if err != nil {
		t.Fatal(err)
	}
	local := memberlist.DefaultLocalConfig()
	if ml := g.serf.MemberlistConfig; ml.ProbeInterval != local.ProbeInterval || ml.GossipNodes != local.GossipNodes ||
		ml.UDPBufferSize != local.UDPBufferSize {
		t.Errorf("untuned local profile changed: probe %v, nodes %d, udp %d", ml.ProbeInterval, ml.GossipNodes, ml.UDPBufferSize)
	}
}

// A value out of bounds stops the agent with the key and the bound.
func TestGossipTuningErrors(t *testing.T) {
	tests := []struct {
		conf Config
		want string
	}{
		{Config{GossipIntervalRaw: "0s"}, "Invalid gossip tuning: gossip_interval must be at least 1ms, not 0s"},
		{Config{GossipNodes: -1}, "Invalid gossip tuning: gossip_nodes must be at least 1, not -1"},
		{Config{GossipToTheDeadTimeRaw: "-1s"}, "Invalid gossip tuning: gossip_to_the_dead_time must be at least 0s, not -1s"},
		{Config{ProbeIntervalRaw: "500us"}, "Invalid gossip tuning: probe_interval must be at least 1ms, not 500µs"},
		{Config{ProbeTimeoutRaw: "2s"}, "Invalid gossip tuning: probe_timeout (2s) must not exceed probe_interval (1s)"},
		{Config{ProbeIntervalRaw: "100ms"}, "Invalid gossip tuning: probe_timeout (500ms) must not exceed probe_interval (100ms)"},
		{Config{SuspicionMult: -4}, "Invalid gossip tuning: suspicion_mult must be at least 1, not -4"},
		{Config{SuspicionMaxTimeoutMult: -1}, "Invalid gossip tuning: suspicion_max_timeout_mult must be at least 1, not -1"},
		{Config{RetransmitMult: -2}, "Invalid gossip tuning: retransmit_mult must be at least 1, not -2"},
		{Config{PushPullIntervalRaw: "-5s"}, "Invalid gossip tuning: push_pull_interval must be at least 0s, not -5s"},
		{Config{TCPTimeoutRaw: "0s"}, "Invalid gossip tuning: tcp_timeout must be at least 1ms, not 0s"},
		{Config{UDPBufferSize: 100}, "Invalid gossip tuning: udp_buffer_size must be at least 512, not 100"},
		{Config{UDPBufferSize: 70000}, "Invalid gossip tuning: udp_buffer_size must be at most 65507, not 70000"},
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
