package serf

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHealDelayBacksOffToTheCap(t *testing.T) {
	c := DefaultConfig()
	c.HealInterval = time.Second
	c.HealMaxInterval = 10 * time.Second
	c.HealJitter = 0
	want := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for attempts, w := range want {
		if got := c.healDelay(attempts); got != w*time.Second {
			t.Errorf("healDelay(%d) = %v, want %v", attempts, got, w*time.Second)
		}
	}
	// Far past the cap the doubling stops, it does not overflow.
	if got := c.healDelay(1000); got != c.HealMaxInterval {
		t.Errorf("healDelay(1000) = %v, want %v", got, c.HealMaxInterval)
	}
}

func TestHealDelayJitterStaysInBounds(t *testing.T) {
	c := DefaultConfig()
	c.HealInterval = time.Second
	c.HealJitter = 0.25
	lo, hi := 750*time.Millisecond, 1250*time.Millisecond
	varied := false
	for i := 0; i < 200; i++ {
		d := c.healDelay(0)
		if d < lo || d > hi {
			t.Fatalf("healDelay(0) = %v, want within [%v, %v]", d, lo, hi)
		}
		varied = varied || d != time.Second
	}
	if !varied {
		t.Errorf("healDelay(0) was %v every time, want it varied", time.Second)
	}
}

// healNode is a Serf with only what the heal list needs.
func healNode(maxPeers int) *Serf {
	c := DefaultConfig()
	c.NodeName = "self"
	c.HealInterval = time.Second
	c.HealMaxPeers = maxPeers
	return &Serf{config: c, members: make(map[string]*memberState)}
}

func TestHealListIsBounded(t *testing.T) {
	s := healNode(3)
	start := time.Now()
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		s.addHealPeer(name, "127.0.0.1:7946", start.Add(time.Duration(i)*time.Second))
	}
	// Re-adding a peer on the list does not evict another.
	s.addHealPeer("e", "127.0.0.2:7946", start.Add(10*time.Second))
	if got := len(s.heal.peers); got != 3 {
		t.Fatalf("len(heal list) = %d, want 3", got)
	}
	for _, name := range []string{"c", "d", "e"} {
		if _, ok := s.heal.peers[name]; !ok {
			t.Errorf("heal list lacks %s, the newest three are c, d, e", name)
		}
	}
	if got := s.heal.peers["e"].addr; got != "127.0.0.2:7946" {
		t.Errorf("e's address = %s, want the last one, 127.0.0.2:7946", got)
	}
}

func TestHealListSkipsSelfAndOff(t *testing.T) {
	s := healNode(3)
	s.addHealPeer("self", "127.0.0.1:7946", time.Now())
	s.addHealPeer("noaddr", "", time.Now())
	if len(s.heal.peers) != 0 {
		t.Errorf("heal list = %v, want empty: this node and peers without an address are never added", s.heal.peers)
	}
	s.config.HealInterval = 0
	s.addHealPeer("a", "127.0.0.1:7946", time.Now())
	s.seedHealList([]PreviousNode{{Name: "b", Addr: "127.0.0.1:7946"}})
	if len(s.heal.peers) != 0 {
		t.Errorf("heal list = %v, want empty with healing off", s.heal.peers)
	}
}

func TestHealSeedKeepsTheFirstPeers(t *testing.T) {
	s := healNode(2)
	s.seedHealList([]PreviousNode{{"alive1", "127.0.0.1:1"}, {"alive2", "127.0.0.1:2"}, {"failed1", "127.0.0.1:3"}})
	for _, name := range []string{"alive1", "alive2"} {
		if _, ok := s.heal.peers[name]; !ok {
			t.Errorf("seeded heal list lacks %s: %v", name, s.heal.peers)
		}
	}
}

func TestHealOneDropsKnownPeers(t *testing.T) {
	s := healNode(3)
	now := time.Now()
	s.addHealPeer("back", "127.0.0.1:1", now.Add(-time.Hour))
	s.members["back"] = &memberState{Member: Member{Name: "back", Status: StatusFailed}}
	// "back" is due, but a member again: dropped, not joined (this Serf
	// has no memberlist to join with).
	s.healOne(now.Add(time.Hour))
	if len(s.heal.peers) != 0 {
		t.Errorf("heal list = %v, want empty once the peer is a member", s.heal.peers)
	}
}

func TestValidateHeal(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		want string
	}{
		{"off ignores the rest", func(c *Config) { c.HealMaxPeers = 0; c.HealJitter = 5 }, ""},
		{"defaults", func(c *Config) { c.HealInterval = time.Second }, ""},
		{"cap below interval", func(c *Config) { c.HealInterval = time.Hour }, "HealMaxInterval must be at least HealInterval (1h0m0s), got 5m0s"},
		{"jitter 1", func(c *Config) { c.HealInterval = time.Second; c.HealJitter = 1 }, "HealJitter must be at least 0 and below 1, got 1"},
		{"jitter negative", func(c *Config) { c.HealInterval = time.Second; c.HealJitter = -0.1 }, "HealJitter must be at least 0 and below 1, got -0.1"},
		{"no peers", func(c *Config) { c.HealInterval = time.Second; c.HealMaxPeers = 0 }, "HealMaxPeers must be at least 1, got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.set(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestHealThrottleSpreadsAttempts(t *testing.T) {
	s := healNode(3)
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("m%d", i)
		s.members[name] = &memberState{Member: Member{Name: name, Status: StatusAlive}}
	}
	now := time.Now()
	s.addHealPeer("lost", "127.0.0.1:1", now)
	const trials = 2000
	picked := 0
	for i := 0; i < trials; i++ {
		s.heal.peers["lost"].next = now
		if _, _, ok := s.dueHealPeer(now); ok {
			picked++
		}
	}
	// 3 of 30 live members: about one trial in ten.
	if picked < trials/20 || picked > trials/5 {
		t.Errorf("dueHealPeer picked the peer %d times of %d with 30 live members, want about %d", picked, trials, trials/10)
	}

	// Alone, a node always tries.
	alone := healNode(3)
	alone.addHealPeer("lost", "127.0.0.1:1", now)
	for i := 0; i < 100; i++ {
		alone.heal.peers["lost"].next = now
		if _, _, ok := alone.dueHealPeer(now); !ok {
			t.Fatalf("dueHealPeer() = false for a node alone, want true every time")
		}
	}
}
