package multihost

import (
	"testing"
	"time"
)

// names returns the agents' host names.
func names(agents []*Agent) []string {
	var out []string
	for _, a := range agents {
		out = append(out, a.Host.Name)
	}
	return out
}

// TestPartition cuts one host off the rest (nftables inside the host),
// then a group of two (a second bridge). Each time both sides mark the
// other side failed, and once the network heals the cluster becomes whole
// again by itself, through Serf's reconnect loop (default 30 s interval),
// without any manual join.
func TestPartition(t *testing.T) {
	requireLab(t)
	c, agents := recordedCluster(t, "pt", 5)

	t.Run("one host", func(t *testing.T) {
		lone := agents[4]
		rest := Others(agents, lone)
		if err := lone.Host.Isolate(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		majority := AllSee(t, 30*time.Second, rest, "failed", lone.Host.Name)
		figure(t, "majority_detects", majority.Round(time.Millisecond))
		// Lifeguard makes a host that hears no one doubt itself first:
		// it takes far longer to declare everyone else failed.
		AllSee(t, 120*time.Second, []*Agent{lone}, "failed", names(rest)...)
		figure(t, "isolated_detects", time.Since(start).Round(time.Millisecond))

		if err := lone.Host.Heal(); err != nil {
			t.Fatal(err)
		}
		heal := Converged(t, 120*time.Second, agents)
		figure(t, "whole_after_heal", heal.Round(time.Millisecond))
	})

	t.Run("group of two", func(t *testing.T) {
		group := agents[3:]
		rest := agents[:3]
		if err := c.Lab.Split(c.Host(4), c.Host(5)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		majority := AllSee(t, 30*time.Second, rest, "failed", names(group)...)
		figure(t, "majority_detects", majority.Round(time.Millisecond))
		AllSee(t, 120*time.Second, group, "failed", names(rest)...)
		figure(t, "minority_detects", time.Since(start).Round(time.Millisecond))
		// Within each side, everyone stays alive.
		AllSee(t, 5*time.Second, group, "alive", names(group)...)
		AllSee(t, 5*time.Second, rest, "alive", names(rest)...)

		if err := c.Lab.Merge(); err != nil {
			t.Fatal(err)
		}
		heal := Converged(t, 120*time.Second, agents)
		figure(t, "whole_after_heal", heal.Round(time.Millisecond))
	})
}

// TestIndirectProbe cuts only the link between two hosts. SWIM's indirect
// probes through the other hosts keep each alive in the other's eyes: no
// one is marked failed while the cut lasts.
func TestIndirectProbe(t *testing.T) {
	requireLab(t)
	_, agents := recordedCluster(t, "ip", 5)
	a, b := agents[0], agents[1]
	if err := a.Host.Block(b.Host); err != nil {
		t.Fatal(err)
	}
	// Probes run every second; 20 s covers many suspicion timeouts.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, o := range agents {
			st, err := o.Statuses()
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range st {
				if s != "alive" {
					t.Fatalf("%s sees %s %s while only %s-%s is cut", o.Host.Name, name, s, a.Host.Name, b.Host.Name)
				}
			}
		}
		time.Sleep(PollInterval)
	}
	for _, o := range agents {
		if n := o.CountEvents("member-failed", ""); n != 0 {
			t.Errorf("%s ran member-failed %d times", o.Host.Name, n)
		}
	}
	if err := a.Host.Heal(); err != nil {
		t.Fatal(err)
	}
}
