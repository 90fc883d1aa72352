package multihost

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/wait"
)

// Healing timings: members are reaped 35 s after they fail or leave (plus
// up to the 15 s reap interval), and a lost peer is tried every 2 s at
// first, every 8 s at the most. Reaping must come after memberlist stops
// gossiping to the dead (30 s in the lan profile, which Serf's agent
// cannot change): until then a healed link lets memberlist's gossip reach
// the dead, they refute, and the sides meet without any healing.
const (
	healTimeouts = `"reconnect_timeout": "35s", "tombstone_timeout": "35s"`
	healKeys     = `"heal_interval": "2s", "heal_max_interval": "8s"`
)

// writeHealConfig writes the agent configuration file name into the
// host's directory: timeouts, and the healing keys for ours.
func writeHealConfig(t *testing.T, c *Cluster, h *netns.Host, bin, name, timeouts string) string {
	t.Helper()
	dir := filepath.Join(c.dir, h.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "{" + timeouts
	if bin == ourBin {
		conf += ", " + healKeys
	}
	conf += "}"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startHealAgents starts one agent per host, the i-th with bins[i], all
// with short reconnect and tombstone timeouts and healing on in ours, on
// eth1, without snapshots unless snapshot is set (then ours have one);
// every agent but the first joins the first.
func startHealAgents(t *testing.T, c *Cluster, snapshot bool, bins ...string) []*Agent {
	t.Helper()
	agents, _ := c.StartJoined(60*time.Second, c.Start, bins, func(i int, h *netns.Host) []string {
		path := writeHealConfig(t, c, h, bins[i], "heal.json", healTimeouts)
		// Debug: the heal attempts and memberlist's failed joins, which
		// end reconnect attempts (reconnectsEnded), are debug lines.
		args := []string{"-iface=eth1", "-config-file=" + path, "-log-level=debug"}
		if snapshot && bins[i] == ourBin {
			args = append(args, "-snapshot="+filepath.Join(c.dir, h.Name, "snapshot"))
		}
		return args
	})
	return agents
}

// AllForget waits until no agent of observers lists any of names (each has
// reaped them), and returns how long it took.
func AllForget(t testing.TB, timeout time.Duration, observers []*Agent, names ...string) time.Duration {
	t.Helper()
	return eachStatus(t, timeout, observers, names, func(o *Agent, n, s string, listed bool) error {
		if listed {
			return fmt.Errorf("%s still lists %s as %q", o.Host.Name, n, s)
		}
		return nil
	})
}

// healAfterSplit splits the last two agents from the others until each
// side has reaped the other and no reconnect attempt is in flight, then
// merges the bridges and waits for one cluster again, which only healing
// can bring about.
func healAfterSplit(t *testing.T, c *Cluster, agents []*Agent) {
	t.Helper()
	a, b := agents[:2], agents[2:]
	if err := c.Lab.Split(c.Host(3), c.Host(4)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The minority side may take a minute or two to see the others
	// failed (Lifeguard); then come the timeout and the reap interval.
	AllForget(t, 240*time.Second, a, names(b)...)
	AllForget(t, 240*time.Second, b, names(a)...)
	figure(t, "both_sides_reaped", time.Since(start).Round(time.Millisecond))
	reconnectsEnded(t, 30*time.Second, agents)

	before := healLines(agents)
	if err := c.Lab.Merge(); err != nil {
		t.Fatal(err)
	}
	heal := Converged(t, 90*time.Second, agents)
	figure(t, "whole_after_heal", heal.Round(time.Millisecond))
	// Healing joined the sides: an agent of ours tried a lost peer of the
	// other side. The join that got through is logged as healed once it
	// has returned, a moment after the others can already see the
	// cluster whole. Its answer can also be late or lost after the peer
	// has taken our state and gossips it; then the attempt, made after
	// the merge, is all there is to see.
	wait.For(t, 10*time.Second, func() error {
		after := healLines(agents)
		for _, l := range after {
			if contains(l, "[INFO] serf: Healed with lost peer ") {
				return nil
			}
		}
		if len(after) > len(before) {
			t.Logf("no heal join has returned yet; heal lines since the merge:\n%s", strings.Join(after[len(before):], "\n"))
			return nil
		}
		return fmt.Errorf("no agent of ours tried a lost peer since the merge; heal lines:\n%s", strings.Join(after, "\n"))
	})
}

// reconnectsEnded waits until no agent has a reconnect attempt in
// flight. The reconnect loop joins one failed member at a time, and an
// attempt begun just before the member was reaped dials on for up to
// memberlist's TCP timeout (10 s): a merge in that window lets it
// through, and the sides meet without healing. An attempt has ended
// once memberlist logs the failed join to its address.
func reconnectsEnded(t *testing.T, timeout time.Duration, agents []*Agent) {
	t.Helper()
	start := time.Now()
	defer func() {
		if took := time.Since(start); took > time.Second {
			t.Logf("waited %v for reconnect attempts begun before the reap to fail", took.Round(time.Millisecond))
		}
	}()
	wait.For(t, timeout, func() error {
		for _, a := range agents {
			if addr, ok := reconnectInFlight(a.Log()); ok {
				return fmt.Errorf("%s is still trying to reconnect to %s", a.Host.Name, addr)
			}
		}
		return nil
	})
}

// reconnectInFlight returns the address of the agent log's last
// reconnect attempt, if no failed join to it was logged after it.
func reconnectInFlight(log string) (string, bool) {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		_, rest, ok := strings.Cut(lines[i], "serf: attempting reconnect to ")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // name, ip:port
		if len(f) != 2 {
			return "", false
		}
		for _, l := range lines[i+1:] {
			// "Failed" in memberlist 0.5 (real Serf), "failed" in 0.7.
			if contains(l, "ailed to join "+f[1]+":") {
				return "", false
			}
		}
		return f[1], true
	}
	return "", false
}

// healLines returns the heal loop's log lines of the agents of ours, each
// after its host's name.
func healLines(agents []*Agent) []string {
	var lines []string
	for _, o := range agents {
		if o.Bin != ourBin {
			continue
		}
		for _, l := range strings.Split(o.Log(), "\n") {
			if contains(l, "heal with lost peer") || contains(l, "Healed with lost peer") {
				lines = append(lines, o.Host.Name+": "+l)
			}
		}
	}
	return lines
}

// TestHeal cuts a cluster in two for longer than reconnect_timeout and
// tombstone_timeout, so that both sides reap each other; once the network
// heals, heal_interval brings them together again: ours on both sides, and
// ours on one side with real Serf 0.11.0 agents, which cannot heal, on the
// other. A node that left is never pulled back, while one that failed is.
// After a whole-cluster outage, ours restarted from its snapshot gives up
// rejoining, and still pulls in a real Serf agent that comes back later.
func TestHeal(t *testing.T) {
	requireLab(t)

	t.Run("ours", func(t *testing.T) {
		c := NewCluster(t, "ho", 4, ourBin)
		healAfterSplit(t, c, startHealAgents(t, c, false, ourBin, ourBin, ourBin, ourBin))
	})

	t.Run("real serf on one side", func(t *testing.T) {
		real11 := oracleBin(t, "v0.11.0")
		c := NewCluster(t, "hm", 4, ourBin)
		healAfterSplit(t, c, startHealAgents(t, c, false, ourBin, ourBin, real11, real11))
	})

	t.Run("left is not pulled back", func(t *testing.T) {
		c := NewCluster(t, "hl", 3, ourBin)
		agents := startHealAgents(t, c, false, ourBin, ourBin, ourBin)
		stay, failed, left := agents[0], agents[1], agents[2]
		if err := left.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if _, err := left.Wait(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := failed.Kill(); err != nil {
			t.Fatal(err)
		}
		AllForget(t, 120*time.Second, []*Agent{stay}, failed.Host.Name, left.Host.Name)

		// Both come back alone: no join, no snapshot.
		for _, a := range []*Agent{failed, left} {
			a.Args = withoutJoin(a.Args)
			if err := a.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		took := Converged(t, 90*time.Second, []*Agent{stay, failed})
		figure(t, "failed_pulled_back", took.Round(time.Millisecond))

		// The heal loop has run for a while now; watch two more of its
		// longest waits: the node that left stays alone.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, o := range []*Agent{stay, failed} {
				st, err := o.Statuses()
				if err != nil {
					t.Fatal(err)
				}
				if s, ok := st[left.Host.Name]; ok {
					t.Fatalf("%s lists %s (which left) as %q", o.Host.Name, left.Host.Name, s)
				}
			}
			st, err := left.Statuses()
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 1 {
				t.Fatalf("%s, which left, sees %v, want only itself", left.Host.Name, st)
			}
			time.Sleep(PollInterval)
		}
	})

	t.Run("restart after whole-cluster outage", func(t *testing.T) {
		real11 := oracleBin(t, "v0.11.0")
		c := NewCluster(t, "hr", 2, ourBin)
		agents := startHealAgents(t, c, true, ourBin, real11)
		first, peer := agents[0], agents[1]
		// The snapshot is flushed every 500 ms: wait for the peer in it.
		wait.Every(t, 10*time.Second, PollInterval, func() error {
			b, err := os.ReadFile(filepath.Join(first.Dir, "snapshot"))
			if err != nil || !strings.Contains(string(b), "alive: "+peer.Host.Name+" ") {
				return fmt.Errorf("%s's snapshot lacks %s (%v)", first.Host.Name, peer.Host.Name, err)
			}
			return nil
		})
		for _, a := range []*Agent{peer, first} {
			if err := a.Kill(); err != nil {
				t.Fatal(err)
			}
		}

		// Ours comes back first, from its snapshot, with a reconnect
		// timeout that ends its rejoin after the first round.
		path := writeHealConfig(t, c, first.Host, ourBin, "heal-restart.json",
			`"reconnect_timeout": "1s", "tombstone_timeout": "35s"`)
		var args []string
		for _, arg := range first.Args {
			if strings.HasPrefix(arg, "-config-file=") {
				arg = "-config-file=" + path
			}
			args = append(args, arg)
		}
		first.Args = args
		if err := first.Restart(); err != nil {
			t.Fatal(err)
		}
		wait.Every(t, 30*time.Second, PollInterval, func() error {
			if !contains(first.Log(), "[WARN] serf: Failed to re-join any previously known node") {
				return fmt.Errorf("%s has not given up rejoining yet", first.Host.Name)
			}
			return nil
		})

		// The real Serf agent comes back alone: no join, no snapshot.
		peer.Args = withoutJoin(peer.Args)
		if err := peer.Restart(); err != nil {
			t.Fatal(err)
		}
		took := Converged(t, 90*time.Second, agents)
		figure(t, "pulled_in_after_restart", took.Round(time.Millisecond))
		if !contains(first.Log(), "[INFO] serf: Healed with lost peer "+peer.Host.Name) {
			t.Errorf("%s did not log healing with %s", first.Host.Name, peer.Host.Name)
		}
	})
}

// TestReconnectInFlight reads reconnect attempts from agent logs, ours
// (memberlist 0.7) and real Serf's (memberlist 0.5).
func TestReconnectInFlight(t *testing.T) {
	const attempt = "2026/12/07 00:30:07 [INFO] serf: attempting reconnect to h3 10.99.0.13:7946\n"
	for _, tc := range []struct {
		log  string
		want string
	}{
		{"", ""},
		{attempt, "10.99.0.13:7946"},
		{attempt + "2026/12/07 00:30:17 [DEBUG] memberlist: failed to join 10.99.0.13:7946: dial tcp 10.99.0.13:7946: i/o timeout\n", ""},
		{attempt + "2026/12/07 00:30:17 [DEBUG] memberlist: Failed to join 10.99.0.13:7946: dial tcp 10.99.0.13:7946: i/o timeout\n", ""},
		// A failure to another peer does not end it.
		{attempt + "2026/12/07 00:30:17 [DEBUG] memberlist: failed to join 10.99.0.14:7946: i/o timeout\n", "10.99.0.13:7946"},
		// Only the last attempt counts.
		{"x [DEBUG] memberlist: failed to join 10.99.0.13:7946: x\n" + attempt + attempt, "10.99.0.13:7946"},
	} {
		got, ok := reconnectInFlight(tc.log)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("reconnectInFlight(%q) = %q, %v; want %q", tc.log, got, ok, tc.want)
		}
	}
}
