package agent

import (
	"fmt"
	"time"

	"github.com/openserf/serf/serf"
)

// Defaults of the healing keys beyond heal_interval, which is off unless
// set. They are the Serf library's (serf.DefaultConfig).
const (
	DefaultHealMaxInterval = 5 * time.Minute
	DefaultHealJitter      = 0.2
	DefaultHealMaxPeers    = 256
)

// healSettings are the healing keys as the library takes them.
type healSettings struct {
	interval, maxInterval time.Duration
	jitter                float64
	maxPeers              int
}

// heal reads and checks the healing keys. With heal_interval unset or not
// positive healing is off and the others are not checked. An unset
// heal_max_interval is DefaultHealMaxInterval, or heal_interval when that
// is longer. The error names the key and its bound.
func (c *Config) heal() (healSettings, error) {
	h := healSettings{interval: parseDuration(c.HealIntervalRaw, 0)}
	if h.interval <= 0 {
		return healSettings{}, nil
	}
	h.maxInterval = max(DefaultHealMaxInterval, h.interval)
	if c.HealMaxIntervalRaw != "" {
		h.maxInterval = parseDuration(c.HealMaxIntervalRaw, 0)
		if h.maxInterval < h.interval {
			return h, fmt.Errorf("Invalid healing: heal_max_interval (%v) must be at least heal_interval (%v)", h.maxInterval, h.interval)
		}
	}
	h.jitter = DefaultHealJitter
	if c.HealJitter != nil {
		h.jitter = *c.HealJitter
		if h.jitter < 0 || h.jitter >= 1 {
			return h, fmt.Errorf("Invalid healing: heal_jitter must be at least 0 and below 1, not %v", h.jitter)
		}
	}
	h.maxPeers = DefaultHealMaxPeers
	if c.HealMaxPeers != 0 {
		h.maxPeers = c.HealMaxPeers
		if h.maxPeers < 1 {
			return h, fmt.Errorf("Invalid healing: heal_max_peers must be at least 1, not %d", h.maxPeers)
		}
	}
	return h, nil
}

// apply turns healing on in sc when heal_interval is set; otherwise it
// leaves the library's defaults (off).
func (h healSettings) apply(sc *serf.Config) {
	if h.interval <= 0 {
		return
	}
	sc.HealInterval = h.interval
	sc.HealMaxInterval = h.maxInterval
	sc.HealJitter = h.jitter
	sc.HealMaxPeers = h.maxPeers
}
