package multihost

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// gossipConfig writes a JSON configuration file for host h's agent into
// its directory (where Start puts its log) and returns the file's path.
func gossipConfig(t *testing.T, c *Cluster, host, json string) string {
	t.Helper()
	dir := filepath.Join(c.dir, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gossip.json")
	if err := os.WriteFile(path, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sees waits until every agent in observers reports exactly the members
// in want, name to status, and nobody else.
func sees(t *testing.T, timeout time.Duration, observers []*Agent, want map[string]string) {
	t.Helper()
	wait.Every(t, timeout, PollInterval, func() error {
		for _, o := range observers {
			if err := exactly(o, want); err != nil {
				return err
			}
		}
		return nil
	})
}

// exactly checks that a reports the members in want, name to status, and
// nobody else.
func exactly(a *Agent, want map[string]string) error {
	st, err := a.Statuses()
	if err != nil {
		return err
	}
	if len(st) != len(want) {
		return fmt.Errorf("%s sees %v, want %v", a.Host.Name, st, want)
	}
	for n, s := range want {
		if st[n] != s {
			return fmt.Errorf("%s sees %v, want %v", a.Host.Name, st, want)
		}
	}
	return nil
}

// alive maps every agent's host name to "alive", plus the extra statuses.
func alive(agents []*Agent, extra map[string]string) map[string]string {
	m := map[string]string{}
	for _, a := range agents {
		m[a.Host.Name] = "alive"
	}
	for n, s := range extra {
		m[n] = s
	}
	return m
}

// TestLabelledClusters runs two clusters of ours on one network, every
// agent on port 7946, labelled blue (hosts 1-3) and green (hosts 4-5),
// beside a real Serf 0.11.0 agent (host 6), which has no label. Joins
// across them fail, saying why. Then host 3 is reinstalled as a green
// agent on the same address and port: blue keeps trying to reconnect to
// it and green's new member still has blue in its snapshot, yet the two
// clusters never merge.
func TestLabelledClusters(t *testing.T) {
	requireLab(t)
	serf11 := oracleBin(t, "v0.11.0")
	c := NewCluster(t, "lb", 6, ourBin)
	// A short reconnect interval, so that blue retries its failed member
	// often while the test watches.
	start := func(i int, label string, join int) *Agent {
		h := c.Host(i)
		conf := gossipConfig(t, c, h.Name, `{"reconnect_interval": "1s"}`)
		args := []string{"-label=" + label, "-config-file=" + conf}
		if join > 0 {
			args = append(args, "-join="+c.Host(join).IP)
		}
		a := c.StartRecorded(h, ourBin, args...)
		WaitRPC(t, a)
		return a
	}
	blue := []*Agent{start(1, "blue", 0), start(2, "blue", 1), start(3, "blue", 1)}
	green := []*Agent{start(4, "green", 0), start(5, "green", 4)}
	real := c.Start(c.Host(6), serf11, "-iface=eth1")
	WaitRPC(t, real)
	sees(t, 30*time.Second, blue, alive(blue, nil))
	sees(t, 30*time.Second, green, alive(green, nil))

	// Joins across fail, and ours say the label may be why.
	for _, j := range []struct {
		from *Agent
		to   *Agent
		hint string // the label in our hint; "" when the joiner is Serf
	}{
		{green[0], blue[0], `"green"`},
		{blue[1], green[1], `"blue"`},
		{blue[0], real, `"blue"`},
		{real, blue[2], ""},
	} {
		out, err := j.from.RunBin(j.from.Bin, "join", j.to.Host.IP)
		if err == nil {
			t.Fatalf("%s joined %s across labels: %s", j.from.Host.Name, j.to.Host.Name, out)
		}
		if want := "may have another cluster label, or not allow this address; this agent's label: " + j.hint; j.hint != "" && !strings.Contains(err.Error(), want) {
			t.Errorf("%s join %s: %v; want the error to hold %q", j.from.Host.Name, j.to.Host.Name, err, want)
		}
	}
	for _, want := range []struct {
		a     *Agent
		label string
	}{{blue[0], "green"}, {green[1], "blue"}, {real, "blue"}, {blue[2], ""}} {
		line := fmt.Sprintf("discarding stream with unacceptable label %q", want.label)
		if !strings.Contains(want.a.Log(), line) {
			t.Errorf("%s's log has no %q", want.a.Host.Name, line)
		}
	}

	// Host 3 is reinstalled green: same address, same port, its snapshot
	// still lists blue's members. Blue sees it fail; green gains it.
	moved := blue[2]
	refusedBlue := `discarding stream with unacceptable label "blue"`
	refusedGreen := `discarding stream with unacceptable label "green"`
	count := func(agents []*Agent, line string) int {
		n := 0
		for _, a := range agents {
			n += strings.Count(a.Log(), line)
		}
		return n
	}
	before := count(blue[:2], refusedGreen)
	if err := moved.Kill(); err != nil {
		t.Fatal(err)
	}
	sees(t, 30*time.Second, blue[:2], alive(blue[:2], map[string]string{moved.Host.Name: "failed"}))
	moved.Args = slices.DeleteFunc(slices.Clone(moved.Args), func(a string) bool {
		return strings.HasPrefix(a, "-label=") || strings.HasPrefix(a, "-join=")
	})
	moved.Args = append(moved.Args, "-label=green", "-retry-join="+green[0].Host.IP, "-retry-interval=1s")
	if err := moved.Restart(); err != nil {
		t.Fatal(err)
	}
	green = append(green, moved)
	blue = blue[:2]
	sees(t, 60*time.Second, green, alive(green, nil))

	// Blue's reconnects reach the green agent at the old address and are
	// refused there; the moved agent's rejoin from its snapshot is refused
	// by blue.
	wait.Every(t, 60*time.Second, PollInterval, func() error {
		if n := count([]*Agent{moved}, refusedBlue); n < 2 {
			return fmt.Errorf("%s logged %q %d times, want at least twice", moved.Host.Name, refusedBlue, n)
		}
		if n := count(blue, refusedGreen); n <= before {
			return fmt.Errorf("blue logged %q %d times, no more than before the move", refusedGreen, n)
		}
		return nil
	})
	// Still apart, every member of each seeing only its own.
	for _, a := range blue {
		if err := exactly(a, alive(blue, map[string]string{moved.Host.Name: "failed"})); err != nil {
			t.Error(err)
		}
	}
	for _, a := range green {
		if err := exactly(a, alive(green, nil)); err != nil {
			t.Error(err)
		}
	}
	if err := exactly(real, alive([]*Agent{real}, nil)); err != nil {
		t.Error(err)
	}
}

// TestGossipAllowedCIDRs gives host 1 gossip_allowed_cidrs that leave out
// host 3. Host 3 cannot join through host 1, which drops its streams and
// packets unread; it can through host 2, which allows everyone, yet host 1
// never lists it, while the others see all three.
func TestGossipAllowedCIDRs(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "ac", 3, ourBin)
	h1, h2, h3 := c.Host(1), c.Host(2), c.Host(3)
	conf := gossipConfig(t, c, h1.Name, fmt.Sprintf(`{"gossip_allowed_cidrs": ["%s/32", "%s/32"]}`, h1.IP, h2.IP))
	guarded := c.Start(h1, ourBin, "-iface=eth1", "-config-file="+conf, "-log-level=debug")
	WaitRPC(t, guarded)
	open := c.Start(h2, ourBin, "-iface=eth1", "-join="+h1.IP)
	WaitRPC(t, open)
	sees(t, 30*time.Second, []*Agent{guarded, open}, alive([]*Agent{guarded, open}, nil))

	stranger := c.Start(h3, ourBin, "-iface=eth1")
	WaitRPC(t, stranger)
	_, err := stranger.CLI("join", h1.IP)
	if want := "or not allow this address"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("join through %s: %v; want an error holding %q", h1.Name, err, want)
	}
	if _, err := stranger.CLI("join", h2.IP); err != nil {
		t.Fatalf("join through %s: %v", h2.Name, err)
	}
	all := []*Agent{guarded, open, stranger}
	sees(t, 30*time.Second, []*Agent{open}, alive(all, nil))
	// Host 2 gossips about host 3 to host 1, which refuses it.
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		if want := "[DEBUG] memberlist: Blocked alive.Addr=" + h3.IP; !strings.Contains(guarded.Log(), want) {
			return fmt.Errorf("%s's log has no %q", h1.Name, want)
		}
		return nil
	})
	if err := exactly(guarded, alive([]*Agent{guarded, open}, nil)); err != nil {
		t.Error(err)
	}
}
