package agent

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Bounds of the gossip tuning keys. Below them memberlist either stops
// working (no probes, no gossip) or floods the network; UDP cannot carry
// more than maxUDPBuffer bytes in one datagram.
const (
	minTuningDuration = time.Millisecond
	minUDPBuffer      = 512
	maxUDPBuffer      = 65507
)

// tuning is one gossip tuning key: how to read it from a Config, its
// lowest value, and where it goes in memberlist's configuration.
type tuning struct {
	key string
	// dur or num reads the key; set is false when it is unset.
	dur func(c *Config) (d time.Duration, set bool)
	num func(c *Config) (n int, set bool)
	// min is the lowest value allowed (max, for numbers, the highest; 0
	// is none).
	min, max int64
	apply    func(ml *memberlist.Config, v int64)
}

func durKey(raw func(c *Config) string) func(c *Config) (time.Duration, bool) {
	return func(c *Config) (time.Duration, bool) {
		r := raw(c)
		if r == "" {
			return 0, false
		}
		return parseDuration(r, 0), true
	}
}

func numKey(p func(c *Config) int) func(c *Config) (int, bool) {
	return func(c *Config) (int, bool) {
		v := p(c)
		return v, v != 0
	}
}

// tunings lists the keys in the order they are checked.
var tunings = []tuning{
	{key: "gossip_interval", dur: durKey(func(c *Config) string { return c.GossipIntervalRaw }),
		min: int64(minTuningDuration), apply: func(ml *memberlist.Config, v int64) { ml.GossipInterval = time.Duration(v) }},
	{key: "gossip_nodes", num: numKey(func(c *Config) int { return c.GossipNodes }),
		min: 1, apply: func(ml *memberlist.Config, v int64) { ml.GossipNodes = int(v) }},
	{key: "gossip_to_the_dead_time", dur: durKey(func(c *Config) string { return c.GossipToTheDeadTimeRaw }),
		min: 0, apply: func(ml *memberlist.Config, v int64) { ml.GossipToTheDeadTime = time.Duration(v) }},
	{key: "probe_interval", dur: durKey(func(c *Config) string { return c.ProbeIntervalRaw }),
		min: int64(minTuningDuration), apply: func(ml *memberlist.Config, v int64) { ml.ProbeInterval = time.Duration(v) }},
	{key: "probe_timeout", dur: durKey(func(c *Config) string { return c.ProbeTimeoutRaw }),
		min: int64(minTuningDuration), apply: func(ml *memberlist.Config, v int64) { ml.ProbeTimeout = time.Duration(v) }},
	{key: "suspicion_mult", num: numKey(func(c *Config) int { return c.SuspicionMult }),
		min: 1, apply: func(ml *memberlist.Config, v int64) { ml.SuspicionMult = int(v) }},
	{key: "suspicion_max_timeout_mult", num: numKey(func(c *Config) int { return c.SuspicionMaxTimeoutMult }),
		min: 1, apply: func(ml *memberlist.Config, v int64) { ml.SuspicionMaxTimeoutMult = int(v) }},
	{key: "retransmit_mult", num: numKey(func(c *Config) int { return c.RetransmitMult }),
		min: 1, apply: func(ml *memberlist.Config, v int64) { ml.RetransmitMult = int(v) }},
	{key: "push_pull_interval", dur: durKey(func(c *Config) string { return c.PushPullIntervalRaw }),
		min: 0, apply: func(ml *memberlist.Config, v int64) { ml.PushPullInterval = time.Duration(v) }},
	{key: "tcp_timeout", dur: durKey(func(c *Config) string { return c.TCPTimeoutRaw }),
		min: int64(minTuningDuration), apply: func(ml *memberlist.Config, v int64) { ml.TCPTimeout = time.Duration(v) }},
	{key: "udp_buffer_size", num: numKey(func(c *Config) int { return c.UDPBufferSize }),
		min: minUDPBuffer, max: maxUDPBuffer, apply: func(ml *memberlist.Config, v int64) { ml.UDPBufferSize = int(v) }},
}

// value returns the key's value as an int64 and whether it is set.
func (t tuning) value(c *Config) (int64, bool) {
	if t.dur != nil {
		d, set := t.dur(c)
		return int64(d), set
	}
	n, set := t.num(c)
	return int64(n), set
}

// show formats v as the key's kind reads.
func (t tuning) show(v int64) string {
	if t.dur != nil {
		return time.Duration(v).String()
	}
	return fmt.Sprint(v)
}

// applyTuning sets the gossip tuning keys c sets on ml, the profile's
// configuration, and checks each against its bounds and probe_timeout
// against probe_interval as they come out. The error names the key and
// the bound.
func applyTuning(c *Config, ml *memberlist.Config) error {
	for _, t := range tunings {
		v, set := t.value(c)
		if !set {
			continue
		}
		if v < t.min {
			return fmt.Errorf("Invalid gossip tuning: %s must be at least %s, not %s", t.key, t.show(t.min), t.show(v))
		}
		if t.max > 0 && v > t.max {
			return fmt.Errorf("Invalid gossip tuning: %s must be at most %s, not %s", t.key, t.show(t.max), t.show(v))
		}
		t.apply(ml, v)
	}
	if ml.ProbeTimeout > ml.ProbeInterval {
		return fmt.Errorf("Invalid gossip tuning: probe_timeout (%v) must not exceed probe_interval (%v)",
			ml.ProbeTimeout, ml.ProbeInterval)
	}
	return nil
}
