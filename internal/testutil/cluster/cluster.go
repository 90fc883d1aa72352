// Package cluster runs in-process Serf clusters for tests: each node on its
// own 127.0.0.x address with an OS-chosen port, fast timings set in one
// place (Config), an event recorder per node, wait-for-condition helpers
// with deadlines, and shutdown at test cleanup. Logs are kept in memory
// and printed only when the test fails.
package cluster

import (
	"fmt"
	"log"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// nextIP hands out 127.0.0.x addresses, x from 10 to 250, round robin.
// With port 0 an address may be reused by later tests in this process.
var nextIP atomic.Uint32

// IP returns a fresh loopback address for a test node.
func IP() string {
	n := nextIP.Add(1)
	return fmt.Sprintf("127.0.0.%d", 10+(n%240))
}

// Config returns a serf configuration with timings shortened for tests.
// Every test-speed setting lives here so the whole suite can be slowed or
// sped up in one place.
func Config(name string) *serf.Config {
	ml := memberlist.DefaultLocalConfig()
	ml.BindAddr = IP()
	ml.BindPort = 0
	ml.AdvertisePort = 0
	ml.GossipInterval = 20 * time.Millisecond
	ml.ProbeInterval = 200 * time.Millisecond
	ml.ProbeTimeout = 100 * time.Millisecond
	ml.SuspicionMult = 2
	ml.SuspicionMaxTimeoutMult = 3
	ml.PushPullInterval = 2 * time.Second
	ml.TCPTimeout = 2 * time.Second
	ml.GossipToTheDeadTime = 2 * time.Second
	// As the lan profile: the local profile's 2 can miss a node of five.
	ml.RetransmitMult = 4

	c := serf.DefaultConfig()
	c.NodeName = name
	c.MemberlistConfig = ml
	c.ProtocolVersion = serf.ProtocolVersionMax
	c.BroadcastTimeout = 2 * time.Second
	c.LeavePropagateDelay = 100 * time.Millisecond
	c.ReapInterval = 100 * time.Millisecond
	c.ReconnectInterval = 200 * time.Millisecond
	c.ReconnectTimeout = 30 * time.Second
	c.TombstoneTimeout = 30 * time.Second
	c.QueueCheckInterval = time.Second
	// With the 20ms gossip interval the default multiplier gives queries
	// a few hundred ms, too little under -race on two cores.
	c.QueryTimeoutMult = 100
	return c
}

// Node is one Serf node of a test cluster with the events it received.
type Node struct {
	Name string
	Serf *serf.Serf
	Logs *SafeBuffer

	tb       testing.TB
	events   chan serf.Event
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	received []serf.Event
}

// SafeBuffer is a bytes.Buffer safe for concurrent writers and readers.
type SafeBuffer = syncbuf.Buffer

// Start creates a node from c (see Config) and records its events. When
// c.EventCh is nil the node gets a recording channel. The node is shut
// down at test cleanup.
func Start(tb testing.TB, c *serf.Config) *Node {
	tb.Helper()
	n := &Node{
		Name: c.NodeName,
		Logs: &SafeBuffer{},
		tb:   tb,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.Logger = log.New(n.Logs, c.NodeName+" ", log.LstdFlags|log.Lmicroseconds)
	if c.MemberlistConfig.Logger == nil && c.MemberlistConfig.LogOutput == nil {
		// Memberlist logs on its own, as in Serf; the tests read both.
		c.MemberlistConfig.Logger = c.Logger
	}
	if c.EventCh == nil {
		n.events = make(chan serf.Event, 4096)
		c.EventCh = n.events
	}
	s, err := serf.Create(c)
	if err != nil {
		tb.Fatalf("serf.Create(%s) error: %v", c.NodeName, err)
	}
	n.Serf = s
	if n.events != nil {
		go n.record()
	} else {
		close(n.done)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("--- log of %s (tail):\n%s", n.Name, tail(n.Logs.String(), 60))
		}
		n.Shutdown()
	})
	return n
}

// Shutdown stops the node without leaving. It is idempotent.
func (n *Node) Shutdown() {
	_ = n.Serf.Shutdown()
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.done
}

func (n *Node) record() {
	defer close(n.done)
	for {
		select {
		case e := <-n.events:
			n.mu.Lock()
			n.received = append(n.received, e)
			n.mu.Unlock()
		case <-n.stop:
			return
		}
	}
}

// Events returns a copy of the events received so far.
func (n *Node) Events() []serf.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]serf.Event(nil), n.received...)
}

// Addr is the node's memberlist address as "ip:port". It is read from
// Serf's record of the local member: memberlist's LocalNode hands out its
// own node, whose fields a refutation (UpdateNode) rewrites under a lock
// the caller does not hold.
func (n *Node) Addr() string {
	m := n.Serf.LocalMember()
	return net.JoinHostPort(m.Addr.String(), fmt.Sprint(m.Port))
}

// Status returns what this node believes of member name ("" if unknown).
func (n *Node) Status(name string) serf.MemberStatus {
	for _, m := range n.Serf.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return serf.StatusNone
}

// Member returns this node's view of member name.
func (n *Node) Member(name string) (serf.Member, bool) {
	for _, m := range n.Serf.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return serf.Member{}, false
}

// MemberEvents returns the members named in events of type t, in order.
func (n *Node) MemberEvents(t serf.EventType) []string {
	var names []string
	for _, e := range n.Events() {
		if me, ok := e.(serf.MemberEvent); ok && me.Type == t {
			for _, m := range me.Members {
				names = append(names, m.Name)
			}
		}
	}
	return names
}

// UserEvents returns the user events received, in order.
func (n *Node) UserEvents() []serf.UserEvent {
	var out []serf.UserEvent
	for _, e := range n.Events() {
		if u, ok := e.(serf.UserEvent); ok {
			out = append(out, u)
		}
	}
	return out
}

// Summary is a one-line view of the node's member list, for failures.
func (n *Node) Summary() string {
	ms := n.Serf.Members()
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, m.Name+"="+m.Status.String())
	}
	sort.Strings(parts)
	return n.Name + ": [" + strings.Join(parts, " ") + "]"
}

// Cluster is a set of nodes started together.
type Cluster struct {
	Nodes []*Node
}

// New starts n nodes named prefix0..prefixN-1, applying tweak (if not nil)
// to each configuration, and joins them all through the first.
func New(tb testing.TB, prefix string, n int, tweak func(*serf.Config)) *Cluster {
	tb.Helper()
	c := &Cluster{}
	for i := 0; i < n; i++ {
		cfg := Config(fmt.Sprintf("%s%d", prefix, i))
		if tweak != nil {
			tweak(cfg)
		}
		c.Nodes = append(c.Nodes, Start(tb, cfg))
	}
	for _, node := range c.Nodes[1:] {
		if _, err := node.Serf.Join([]string{c.Nodes[0].Addr()}, false); err != nil {
			tb.Fatalf("%s: Join(%s) error: %v", node.Name, c.Nodes[0].Addr(), err)
		}
	}
	return c
}

// Node returns the node with the given name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitStatus waits until every node in among sees member name with status
// want.
func WaitStatus(tb testing.TB, timeout time.Duration, among []*Node, name string, want serf.MemberStatus) {
	tb.Helper()
	wait.For(tb, timeout, func() error {
		for _, n := range among {
			if got := n.Status(name); got != want {
				return fmt.Errorf("%s sees %s as %v, want %v; %s", n.Name, name, got, want, n.Summary())
			}
		}
		return nil
	})
}

// WaitConverged waits until every node sees every other as alive.
func (c *Cluster) WaitConverged(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	wait.For(tb, timeout, func() error {
		for _, n := range c.Nodes {
			ms := n.Serf.Members()
			alive := 0
			for _, m := range ms {
				if m.Status == serf.StatusAlive {
					alive++
				}
			}
			if alive != len(c.Nodes) {
				return fmt.Errorf("%s sees %d alive of %d: %s", n.Name, alive, len(c.Nodes), n.Summary())
			}
		}
		return nil
	})
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
