package multihost

import (
	"testing"
	"time"
)

// TestSeedDiscovery is the second article verbatim: five hosts started
// with nothing but "serf agent -iface=eth1 -discover=cluster01" find one
// another by mDNS and form one cluster; a sixth host joins with
// "-join=<ip>" alone.
func TestSeedDiscovery(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "sd", 6, ourBin)

	start := time.Now()
	var agents []*Agent
	for i := 1; i <= 5; i++ {
		agents = append(agents, c.Start(c.Host(i), ourBin, "-iface=eth1", "-discover=cluster01"))
	}
	Converged(t, 30*time.Second, agents)
	figure(t, "discover_5_hosts", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	sixth := c.Start(c.Host(6), ourBin, "-iface=eth1", "-join="+c.Host(1).IP)
	agents = append(agents, sixth)
	Converged(t, 30*time.Second, agents)
	figure(t, "join_sixth", time.Since(start).Round(time.Millisecond))

	// The banner says which address -iface picked, as in the article.
	for _, a := range agents {
		want := "==> Using interface 'eth1' address '" + a.Host.IP + "'"
		if !contains(a.Log(), want) {
			t.Errorf("%s: log lacks %q", a.Host.Name, want)
		}
	}
}
