package multihost

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/wait"
)

// membersAt waits until a's member list has exactly the given addresses
// ("[ip]:port"), by node name.
func membersAt(t *testing.T, a *Agent, want map[string]string) {
	t.Helper()
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		ms, err := a.Members()
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, m := range ms {
			got[m.Name] = m.Addr
		}
		for name, addr := range want {
			if got[name] != addr {
				return fmt.Errorf("%s lists %s at %q, want %q (all: %v)", a.Host.Name, name, got[name], addr, got)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("%s lists %v, want %v", a.Host.Name, got, want)
		}
		return nil
	})
}

// gossipAddr is "[ip]:7946" for the host's IPv6 address.
func gossipAddr(h *netns.Host) string {
	return net.JoinHostPort(h.IP6, "7946")
}

// TestIPv6Only runs ours and real Serf 0.11.0 on hosts whose eth1 has
// only an IPv6 address: -iface with the default and the "::" bind
// address, the default bind address alone, explicit "[ip]:port" bind,
// advertise and join addresses, mDNS
// discovery, RPC on [::1]:7373, members and rtt through both CLIs,
// queries both ways, and an isolated host marked failed and back.
func TestIPv6Only(t *testing.T) {
	requireLab(t)
	serf11 := oracleBin(t, "v0.11.0")
	c := NewClusterStack(t, "v6", 7, ourBin, netns.IPv6Only)
	h := func(i int) *netns.Host { return c.Host(i) }
	agents := []*Agent{
		c.Start(h(1), ourBin, "-iface=eth1", "-discover=v6lab", "-rpc-addr=[::1]:7373"),
		c.Start(h(2), ourBin, "-bind=[::]:7946", "-iface=eth1", "-discover=v6lab"),
		c.Start(h(3), serf11, "-iface=eth1", "-discover=v6lab"),
	}
	// The explicit joins need their seeds listening.
	WaitRPC(t, agents[0])
	WaitRPC(t, agents[1])
	agents = append(agents,
		c.Start(h(4), ourBin, "-bind="+gossipAddr(h(4)), "-advertise="+gossipAddr(h(4)),
			"-join="+gossipAddr(h(1))),
		c.Start(h(5), serf11, "-bind="+gossipAddr(h(5)), "-join="+gossipAddr(h(2)),
			"-rpc-addr=[::1]:7373"))
	// The default bind address works too: Go's socket on 0.0.0.0 takes
	// IPv6 as well, and memberlist announces the unique local address.
	WaitRPC(t, agents[3])
	agents = append(agents,
		c.Start(h(6), ourBin, "-join=["+h(4).IP6+"]"), // the port is the agent's own
		c.Start(h(7), serf11, "-join="+gossipAddr(h(4))))
	took := Converged(t, 60*time.Second, agents)
	figure(t, "ipv6_converged", took.Round(time.Millisecond))

	// -iface took the interface's IPv6 address, in both implementations,
	// with the default bind address and ours with "::".
	for _, a := range agents[:3] {
		want := "==> Using interface 'eth1' address '" + a.Host.IP6 + "'"
		if !contains(a.Log(), want) {
			t.Errorf("%s: log lacks %q", a.Host.Name, want)
		}
	}
	// Every member is listed at "[ip]:7946" by ours and by real Serf.
	want := map[string]string{}
	for _, a := range agents {
		want[a.Host.Name] = gossipAddr(a.Host)
	}
	for _, a := range agents {
		membersAt(t, a, want)
	}
	// The two CLIs print the same rows, against ours and against Serf
	// (Serf's in the agent's order, ours sorted).
	sortedRows := func(out string) string {
		rows := strings.Split(strings.TrimSpace(out), "\n")
		for i, r := range rows {
			rows[i] = strings.TrimSpace(r)
		}
		slices.Sort(rows)
		return strings.Join(rows, "\n")
	}
	for _, a := range []*Agent{agents[0], agents[4]} {
		ours, err := a.CLI("members")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := a.RunBin(serf11, "members")
		if err != nil {
			t.Fatal(err)
		}
		if sortedRows(ours) != sortedRows(theirs) {
			t.Errorf("serf members against %s:\nours:\n%s\nserf 0.11.0:\n%s", a.Host.Name, ours, theirs)
		}
		if !contains(ours, "["+h(4).IP6+"]:7946") {
			t.Errorf("serf members against %s lacks [%s]:7946:\n%s", a.Host.Name, h(4).IP6, ours)
		}
	}

	// rtt between an agent of ours and one of Serf's, from both CLIs.
	for _, bin := range []string{ourBin, serf11} {
		wait.Every(t, 30*time.Second, PollInterval, func() error {
			out, err := agents[0].RunBin(bin, "rtt", h(5).Name, h(1).Name)
			if err == nil && !contains(out, "rtt:") {
				err = fmt.Errorf("rtt printed %q", out)
			}
			return err
		})
	}

	// A query from each side is acknowledged by all five.
	for _, from := range []*Agent{agents[3], agents[4]} {
		err := wait.Until(30*time.Second, func() error {
			out, err := from.RunBin(from.Bin, "query", "-format=json", "-timeout=5s", "ping")
			if err != nil {
				return err
			}
			var r queryResult
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				return fmt.Errorf("query output %q: %w", out, err)
			}
			if len(r.Acks) != len(agents) {
				return fmt.Errorf("query from %s: acks %v, want all %d", from.Host.Name, r.Acks, len(agents))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// The lab's faults cover IPv6: an isolated host is marked failed,
	// and comes back after the heal through the reconnect loop.
	if err := h(4).Isolate(); err != nil {
		t.Fatal(err)
	}
	others := Others(agents, agents[3])
	AllSee(t, 30*time.Second, others, "failed", h(4).Name)
	if err := h(4).Heal(); err != nil {
		t.Fatal(err)
	}
	took = Converged(t, 90*time.Second, agents)
	figure(t, "ipv6_healed", took.Round(time.Millisecond))
}

// TestDualStack shows which address -iface takes on a host with both
// versions: IPv4 with the default bind address, in both implementations;
// IPv6 with "-bind=[::]", where real Serf fails. An agent bound to "::"
// without -iface announces the host's IPv6 address; real Serf "::".
func TestDualStack(t *testing.T) {
	requireLab(t)
	serf11 := oracleBin(t, "v0.11.0")
	c := NewClusterStack(t, "ds", 5, ourBin, netns.DualStack)
	h := func(i int) *netns.Host { return c.Host(i) }

	// Default bind address: IPv4, found by mDNS over IPv4.
	v4 := []*Agent{
		c.Start(h(1), ourBin, "-iface=eth1", "-discover=dslab"),
		c.Start(h(2), serf11, "-iface=eth1", "-discover=dslab"),
	}
	Converged(t, 60*time.Second, v4)
	for _, a := range v4 {
		if want := "==> Using interface 'eth1' address '" + a.Host.IP + "'"; !contains(a.Log(), want) {
			t.Errorf("%s: log lacks %q", a.Host.Name, want)
		}
		membersAt(t, a, map[string]string{h(1).Name: h(1).IP + ":7946", h(2).Name: h(2).IP + ":7946"})
	}

	// "-bind=[::]": ours takes the interface's IPv6 address; the one
	// without -iface announces its IPv6 address, and joins with
	// "serf join [ip]:port".
	v6 := []*Agent{
		c.Start(h(3), ourBin, "-bind=[::]:7946", "-iface=eth1"),
		c.Start(h(4), ourBin, "-bind=[::]:7946"),
	}
	WaitRPC(t, v6[0])
	WaitRPC(t, v6[1])
	if out, err := v6[1].CLI("join", gossipAddr(h(3))); err != nil || !contains(out, "Successfully joined cluster by contacting 1 nodes.") {
		t.Fatalf("serf join %s = %q, %v", gossipAddr(h(3)), out, err)
	}
	Converged(t, 60*time.Second, v6)
	if want := "==> Using interface 'eth1' address '" + h(3).IP6 + "'"; !contains(v6[0].Log(), want) {
		t.Errorf("%s: log lacks %q", h(3).Name, want)
	}
	for _, a := range v6 {
		membersAt(t, a, map[string]string{h(3).Name: gossipAddr(h(3)), h(4).Name: gossipAddr(h(4))})
	}

	// Bound to "::" alone, real Serf announces "::" itself.
	alone := c.Start(h(5), serf11, "-bind=[::]:7946")
	WaitRPC(t, alone)
	membersAt(t, alone, map[string]string{h(5).Name: "[::]:7946"})

	// Real Serf looks for an address "::" on the interface.
	out, err := h(1).Run(serf11, "agent", "-node=probe", "-bind=[::]:7950", "-iface=eth1",
		"-rpc-addr=127.0.0.1:7380")
	want := "Interface 'eth1' has no '::' address"
	if err == nil || !strings.Contains(out+err.Error(), want) {
		t.Errorf("serf 0.11.0 agent -bind=[::]:7950 -iface=eth1 = %q, %v; want a failure saying %q", out, err, want)
	}
}
