package serf_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// splitNet partitions in-process nodes by IP: nodes in different groups
// cannot reach each other. Every node's transport drops what it sends
// across the cut, so the cut is symmetric without filtering what arrives.
type splitNet struct {
	mu    sync.Mutex
	group map[string]int // ip -> group; absent is group 0
}

// split puts the nodes in a group of their own.
func (n *splitNet) split(nodes ...*cluster.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, node := range nodes {
		n.group[node.Serf.LocalMember().Addr.String()] = 1
	}
}

// merge heals every cut.
func (n *splitNet) merge() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.group)
}

// cut reports whether from cannot reach the host of addr (ip:port).
func (n *splitNet) cut(from, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.group[from] != n.group[host]
}

// splitTransport is memberlist's own transport behind a splitNet.
type splitTransport struct {
	*memberlist.NetTransport
	net *splitNet
	ip  string
}

var errCut = errors.New("partitioned")

// WriteToAddress loses a packet sent across the cut, as a cut cable
// would. Memberlist sends through it (and WriteTo through it too).
func (t *splitTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.net.cut(t.ip, a.Addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}

// WriteTo is WriteToAddress without a node name.
func (t *splitTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// DialAddressTimeout fails to connect across the cut.
func (t *splitTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.net.cut(t.ip, a.Addr) {
		return nil, errCut
	}
	return t.NetTransport.DialAddressTimeout(a, timeout)
}

// DialTimeout is DialAddressTimeout without a node name.
func (t *splitTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// healConfig is a test config with short timeouts and healing on, its
// transport on n. A port other than 0 keeps an address across restarts.
func healConfig(t *testing.T, n *splitNet, name, ip string, port int) *serf.Config {
	t.Helper()
	cfg := cluster.Config(name)
	if ip == "" {
		ip = cfg.MemberlistConfig.BindAddr
	}
	cfg.ReconnectTimeout = time.Second
	cfg.TombstoneTimeout = time.Second
	cfg.HealInterval = 100 * time.Millisecond
	cfg.HealMaxInterval = 400 * time.Millisecond
	// Memberlist must have stopped gossiping to the dead by the time they
	// are reaped, or a healed cut lets that gossip mend the cluster alone.
	cfg.MemberlistConfig.GossipToTheDeadTime = 100 * time.Millisecond
	tr, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{ip}, BindPort: port})
	if err != nil {
		t.Fatalf("NewNetTransport(%s:%d) error: %v", ip, port, err)
	}
	ml := cfg.MemberlistConfig
	ml.BindAddr, ml.BindPort, ml.AdvertisePort = ip, tr.GetAutoBindPort(), tr.GetAutoBindPort()
	ml.Transport = &splitTransport{NetTransport: tr, net: n, ip: ip}
	return cfg
}

// healCluster starts nodes prefix0..prefixN-1 with healConfig, joined
// through the first.
func healCluster(t *testing.T, n *splitNet, prefix string, count int, tweak func(*serf.Config)) *cluster.Cluster {
	t.Helper()
	c := &cluster.Cluster{}
	for i := 0; i < count; i++ {
		cfg := healConfig(t, n, fmt.Sprintf("%s%d", prefix, i), "", 0)
		if tweak != nil {
			tweak(cfg)
		}
		c.Nodes = append(c.Nodes, cluster.Start(t, cfg))
	}
	for _, node := range c.Nodes[1:] {
		if _, err := node.Serf.Join([]string{c.Nodes[0].Addr()}, false); err != nil {
			t.Fatalf("%s: Join(%s) error: %v", node.Name, c.Nodes[0].Addr(), err)
		}
	}
	c.WaitConverged(t, timeout)
	return c
}

func newSplitNet() *splitNet { return &splitNet{group: make(map[string]int)} }

// waitForgotten waits until every node of among has reaped every member
// named, so that it no longer knows them at all.
func waitForgotten(t *testing.T, among []*cluster.Node, names ...string) {
	t.Helper()
	wait.For(t, timeout, func() error {
		for _, n := range among {
			for _, name := range names {
				if _, ok := n.Member(name); ok {
					return fmt.Errorf("%s still knows %s: %s", n.Name, name, n.Summary())
				}
			}
		}
		return nil
	})
}

func nodeNames(nodes []*cluster.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// TestHealAfterLongPartition cuts a cluster of four in two for longer than
// the reconnect and tombstone timeouts: each half reaps the other and puts
// it on its heal list. Once the cut heals the cluster is whole again, with
// no join from outside.
func TestHealAfterLongPartition(t *testing.T) {
	n := newSplitNet()
	c := healCluster(t, n, "hp", 4, nil)
	a, b := c.Nodes[:2], c.Nodes[2:]

	n.split(b...)
	waitForgotten(t, a, nodeNames(b)...)
	waitForgotten(t, b, nodeNames(a)...)
	for _, node := range a {
		if got, want := node.Serf.HealPeers(), nodeNames(b); !slices.Equal(got, want) {
			t.Errorf("%s: HealPeers() = %v, want %v", node.Name, got, want)
		}
	}

	n.merge()
	c.WaitConverged(t, timeout)
	healed := 0
	for _, node := range c.Nodes {
		if strings.Contains(node.Logs.String(), "[INFO] serf: Healed with lost peer ") {
			healed++
		}
		wait.For(t, timeout, func() error {
			if got := node.Serf.HealPeers(); len(got) != 0 {
				return fmt.Errorf("%s: HealPeers() = %v, want none", node.Name, got)
			}
			return nil
		})
	}
	if healed == 0 {
		t.Errorf("no node logged a heal")
	}
}

// TestHealNeverPullsBackLeftPeer: of two nodes gone long enough to be
// reaped, the one that failed is pulled back in when it comes back alone
// at its address, the one that left is not.
func TestHealNeverPullsBackLeftPeer(t *testing.T) {
	n := newSplitNet()
	c := healCluster(t, n, "hl", 4, nil)
	stay, gone, failed := c.Nodes[:2], c.Nodes[2], c.Nodes[3]
	goneAddr, failedAddr := gone.Serf.LocalMember(), failed.Serf.LocalMember()

	if err := gone.Serf.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	gone.Shutdown()
	failed.Shutdown()
	waitForgotten(t, stay, gone.Name, failed.Name)
	for _, node := range stay {
		if got, want := node.Serf.HealPeers(), []string{failed.Name}; !slices.Equal(got, want) {
			t.Errorf("%s: HealPeers() = %v, want %v", node.Name, got, want)
		}
	}

	// Both come back, alone, at their old addresses.
	gone2 := cluster.Start(t, healConfig(t, n, gone.Name, goneAddr.Addr.String(), int(goneAddr.Port)))
	failed2 := cluster.Start(t, healConfig(t, n, failed.Name, failedAddr.Addr.String(), int(failedAddr.Port)))
	cluster.WaitStatus(t, timeout, append(slices.Clone(stay), failed2), failed.Name, serf.StatusAlive)
	cluster.WaitStatus(t, timeout, []*cluster.Node{failed2}, stay[0].Name, serf.StatusAlive)
	// The heal loops have run by now; the node that left is still alone.
	if got := gone2.Serf.NumNodes(); got != 1 {
		t.Errorf("%s: NumNodes() = %d after it left and came back alone, want 1: %s", gone.Name, got, gone2.Summary())
	}
	for _, node := range append(slices.Clone(stay), failed2) {
		if st := node.Status(gone.Name); st != serf.StatusNone {
			t.Errorf("%s sees %s as %v, want it unknown", node.Name, gone.Name, st)
		}
	}
}

// TestHealForceLeaveForgets: a lost peer that is forced out is dropped
// from the heal list of every node that hears of it.
func TestHealForceLeaveForgets(t *testing.T) {
	n := newSplitNet()
	c := healCluster(t, n, "hf", 3, nil)
	lost := c.Nodes[2]
	lost.Shutdown()
	stay := c.Nodes[:2]
	waitForgotten(t, stay, lost.Name)
	if err := stay[0].Serf.RemoveFailedNode(lost.Name); err != nil {
		t.Fatalf("RemoveFailedNode(%s) error: %v", lost.Name, err)
	}
	wait.For(t, timeout, func() error {
		for _, node := range stay {
			if got := node.Serf.HealPeers(); len(got) != 0 {
				return fmt.Errorf("%s: HealPeers() = %v, want none", node.Name, got)
			}
		}
		return nil
	})
}

// TestHealAfterWholeClusterRestart: the whole cluster goes down; one node
// comes back with its snapshot, finds nobody and gives up rejoining (its
// ReconnectTimeout is over at once). A peer that then comes back at its
// old address, without a snapshot or a join of its own, is pulled in by
// the first node's heal loop.
func TestHealAfterWholeClusterRestart(t *testing.T) {
	n := newSplitNet()
	snap := filepath.Join(t.TempDir(), "snap")
	c := healCluster(t, n, "hr", 2, func(cfg *serf.Config) {
		if cfg.NodeName == "hr0" {
			cfg.SnapshotPath = snap
		}
	})
	first, peer := c.Nodes[0], c.Nodes[1]
	firstAddr, peerAddr := first.Serf.LocalMember(), peer.Serf.LocalMember()
	peer.Shutdown()
	first.Shutdown()

	cfg := healConfig(t, n, first.Name, firstAddr.Addr.String(), 0)
	cfg.SnapshotPath = snap
	cfg.ReconnectTimeout = time.Millisecond
	again := cluster.Start(t, cfg)
	wait.For(t, timeout, func() error {
		if !strings.Contains(again.Logs.String(), "[WARN] serf: Failed to re-join any previously known node") {
			return fmt.Errorf("no failed re-join in the log yet")
		}
		return nil
	})
	if got, want := again.Serf.HealPeers(), []string{peer.Name}; !slices.Equal(got, want) {
		t.Errorf("HealPeers() = %v, want %v", got, want)
	}

	peer2 := cluster.Start(t, healConfig(t, n, peer.Name, peerAddr.Addr.String(), int(peerAddr.Port)))
	cluster.WaitStatus(t, timeout, []*cluster.Node{again, peer2}, peer.Name, serf.StatusAlive)
	cluster.WaitStatus(t, timeout, []*cluster.Node{again, peer2}, first.Name, serf.StatusAlive)
}
