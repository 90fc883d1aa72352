package sim

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/serf"
)

// Cluster is a set of real serf nodes (our serf package on memberlist
// v0.7.0, unmodified) on one Network. Its methods read the clock and
// sleep, so inside a testing/synctest bubble they run in virtual time:
// see doc.go.
type Cluster struct {
	Net   *Network
	Nodes []*Node

	obs  *observer
	stop chan struct{}
	wg   sync.WaitGroup // the event recorders
}

// Node is one member of a Cluster.
type Node struct {
	Index     int
	Name      string
	Serf      *serf.Serf
	Transport *Transport

	events chan serf.Event
}

// observer keeps the first time each node saw each user event and each
// member fail.
type observer struct {
	mu     sync.Mutex
	user   map[string]map[int]time.Time // event name -> node -> time; guarded by mu
	failed map[string]map[int]time.Time // member name -> node -> time; guarded by mu
}

func (o *observer) record(m map[string]map[int]time.Time, key string, node int, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	byNode := m[key]
	if byNode == nil {
		byNode = make(map[int]time.Time)
		m[key] = byNode
	}
	if _, ok := byNode[node]; !ok {
		byNode[node] = at
	}
}

// seen returns a copy of the receipt times for key.
func (o *observer) seen(m map[string]map[int]time.Time, key string) map[int]time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[int]time.Time, len(m[key]))
	for k, v := range m[key] {
		out[k] = v
	}
	return out
}

// NodeConfig returns the configuration of node i: the library defaults
// (memberlist's LAN profile: GossipInterval 200ms, GossipNodes 3,
// ProbeInterval 1s, RetransmitMult 4, SuspicionMult 4) on transport tr,
// with logs discarded.
func NodeConfig(i int, tr *Transport) *serf.Config {
	ml := memberlist.DefaultLANConfig()
	ml.Transport = tr
	ml.Logger = log.New(io.Discard, "", 0)
	c := serf.DefaultConfig()
	c.NodeName = fmt.Sprintf("node-%05d", i)
	c.MemberlistConfig = ml
	c.Logger = log.New(io.Discard, "", 0)
	return c
}

// NewCluster creates n nodes on a new network with the given link; tweak,
// if not nil, may change each node's configuration. The nodes are alone
// until Bootstrap.
func NewCluster(n int, link Link, tweak func(*serf.Config)) (*Cluster, error) {
	c := &Cluster{
		Net:  NewNetwork(link),
		obs:  &observer{user: map[string]map[int]time.Time{}, failed: map[string]map[int]time.Time{}},
		stop: make(chan struct{}),
	}
	// memberlist starts its gossip and probe tickers when a node is created
	// and only delays the first tick it reads, so nodes created in the same
	// instant tick in lockstep for ever. Real nodes start at different
	// times; so do these, at random over one probe interval of virtual
	// time.
	c.Nodes = make([]*Node, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		tr := c.Net.NewTransport()
		cfg := NodeConfig(i, tr)
		if tweak != nil {
			tweak(cfg)
		}
		node := &Node{Index: i, Name: cfg.NodeName, Transport: tr, events: make(chan serf.Event, 64)}
		cfg.EventCh = node.events
		stagger := time.Duration(rand.Int64N(int64(cfg.MemberlistConfig.ProbeInterval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(stagger)
			s, err := serf.Create(cfg)
			if err != nil {
				_ = tr.Shutdown()
				errs[i] = fmt.Errorf("create %s: %w", cfg.NodeName, err)
				return
			}
			node.Serf = s
			c.Nodes[i] = node
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Nodes = slices.DeleteFunc(c.Nodes, func(n *Node) bool { return n == nil })
		c.Shutdown()
		return nil, err
	}
	for _, node := range c.Nodes {
		c.wg.Add(1)
		go c.recordEvents(node)
	}
	return c, nil
}

// recordEvents notes the user events and member failures node receives
// until the cluster shuts down.
func (c *Cluster) recordEvents(node *Node) {
	defer c.wg.Done()
	for {
		select {
		case e := <-node.events:
			switch e := e.(type) {
			case serf.UserEvent:
				c.obs.record(c.obs.user, e.Name, node.Index, time.Now())
			case serf.MemberEvent:
				if e.Type == serf.EventMemberFailed {
					now := time.Now()
					for _, m := range e.Members {
						c.obs.record(c.obs.failed, m.Name, node.Index, now)
					}
				}
			}
		case <-c.stop:
			return
		}
	}
}

// Bootstrap joins every node to node 0 and waits until every node knows
// all n members, then until the broadcast queues have drained (Quiesce).
// It gives up after timeout.
func (c *Cluster) Bootstrap(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	seed := c.Nodes[0].Transport.Addr()
	for _, node := range c.Nodes[1:] {
		if _, err := node.Serf.Join([]string{seed}, true); err != nil {
			return fmt.Errorf("%s: join %s: %w", node.Name, seed, err)
		}
	}
	n := len(c.Nodes)
	for {
		behind := 0
		for _, node := range c.Nodes {
			if node.Serf.Memberlist().NumMembers() < n {
				behind++
			}
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bootstrap: %d of %d nodes still miss members after %v", behind, n, timeout)
		}
		time.Sleep(time.Second)
	}
	return c.Quiesce(time.Until(deadline))
}

// Quiesce waits until the network has carried no gossip (anything but
// bare pings and acks) for two probe intervals: every broadcast queue in
// the cluster is then empty, so the next measurement starts from rest.
func (c *Cluster) Quiesce(timeout time.Duration) error {
	const window = 2 * time.Second
	deadline := time.Now().Add(timeout)
	last := c.Net.Stats().Gossip
	for {
		time.Sleep(window)
		now := c.Net.Stats().Gossip
		if now == last {
			return nil
		}
		last = now
		if time.Now().After(deadline) {
			return fmt.Errorf("quiesce: gossip still flowing after %v", timeout)
		}
	}
}

// live returns the nodes whose transport is not silenced.
func (c *Cluster) live() []*Node {
	var out []*Node
	for _, node := range c.Nodes {
		if !node.Transport.Silent() {
			out = append(out, node)
		}
	}
	return out
}

// Spread is the outcome of one dissemination: how long each reached node
// took, sorted, out of how many nodes should have been reached.
type Spread struct {
	Latencies []time.Duration
	Total     int
}

// Quantile returns the time by which fraction q of Total nodes were
// reached, and false if fewer were reached.
func (s Spread) Quantile(q float64) (time.Duration, bool) {
	need := int(q*float64(s.Total) + 0.999999)
	if need < 1 {
		need = 1
	}
	if need > len(s.Latencies) {
		return 0, false
	}
	return s.Latencies[need-1], true
}

func spread(start time.Time, seen map[int]time.Time, total int) Spread {
	s := Spread{Total: total}
	for _, at := range seen {
		s.Latencies = append(s.Latencies, at.Sub(start))
	}
	sort.Slice(s.Latencies, func(i, j int) bool { return s.Latencies[i] < s.Latencies[j] })
	return s
}

// UserEvent sends a user event named name from node sender and waits
// until every live node has delivered it, or timeout.
func (c *Cluster) UserEvent(sender int, name string, timeout time.Duration) (Spread, error) {
	live := c.live()
	start := time.Now()
	if err := c.Nodes[sender].Serf.UserEvent(name, []byte("sim"), false); err != nil {
		return Spread{}, err
	}
	for {
		seen := c.obs.seen(c.obs.user, name)
		if len(seen) >= len(live) || time.Since(start) >= timeout {
			return spread(start, seen, len(live)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Fail silences node victim (a crash: no leave) and waits until every
// other live node reports it failed, or timeout. The victim is then shut
// down.
func (c *Cluster) Fail(victim int, timeout time.Duration) (Spread, error) {
	v := c.Nodes[victim]
	if v.Transport.Silent() {
		return Spread{}, errors.New("victim already failed")
	}
	start := time.Now()
	v.Transport.Silence()
	live := c.live()
	for {
		seen := c.obs.seen(c.obs.failed, v.Name)
		for i := range seen {
			if c.Nodes[i].Transport.Silent() {
				delete(seen, i)
			}
		}
		if len(seen) >= len(live) || time.Since(start) >= timeout {
			_ = v.Serf.Shutdown()
			return spread(start, seen, len(live)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settleTime is how long Shutdown lets memberlist's unowned goroutines
// run out after the nodes are shut down.
const settleTime = 20 * time.Second

// Shutdown stops every node without leaving, then the recorders, and
// waits for the network's goroutines. It must be called before a synctest
// bubble ends.
func (c *Cluster) Shutdown() {
	var wg sync.WaitGroup
	for _, node := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = node.Serf.Shutdown()
		}()
	}
	wg.Wait()
	// memberlist's Shutdown does not wait for a probe in flight: the probe
	// goroutine waits out its ack timer (ProbeInterval, stretched up to
	// 8x by Lifeguard awareness) and its TCP fallback (TCPTimeout, 10s).
	// Let them end; in a synctest bubble this costs no real time.
	time.Sleep(settleTime)
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.wg.Wait()
	c.Net.Wait()
}
