package sim

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/hashicorp/memberlist"
)

// ModelConfig parameterises the protocol-level model of memberlist's
// dissemination and failure detection. DefaultModelConfig takes every
// value from memberlist.DefaultLANConfig, the profile serf uses by default.
type ModelConfig struct {
	N    int
	Link Link

	GossipInterval      time.Duration
	GossipNodes         int
	ProbeInterval       time.Duration
	ProbeTimeout        time.Duration
	IndirectChecks      int
	PushPullInterval    time.Duration // before memberlist's scaling with N
	GossipToTheDeadTime time.Duration
	RetransmitMult      int
	SuspicionMult       int
	SuspicionMaxMult    int
	PacketSize          int // UDPBufferSize: gossip packets and piggybacks fit in it

	Seed uint64
}

// DefaultModelConfig returns the model of an n-node LAN cluster.
func DefaultModelConfig(n int, link Link) ModelConfig {
	ml := memberlist.DefaultLANConfig()
	return ModelConfig{
		N:                   n,
		Link:                link,
		GossipInterval:      ml.GossipInterval,
		GossipNodes:         ml.GossipNodes,
		ProbeInterval:       ml.ProbeInterval,
		ProbeTimeout:        ml.ProbeTimeout,
		IndirectChecks:      ml.IndirectChecks,
		PushPullInterval:    ml.PushPullInterval,
		GossipToTheDeadTime: ml.GossipToTheDeadTime,
		RetransmitMult:      ml.RetransmitMult,
		SuspicionMult:       ml.SuspicionMult,
		SuspicionMaxMult:    ml.SuspicionMaxTimeoutMult,
		PacketSize:          ml.UDPBufferSize,
		Seed:                1,
	}
}

// RetransmitLimit is how many times a node sends each broadcast:
// RetransmitMult * ceil(log10(N+1)), as memberlist's queue.
func (c ModelConfig) RetransmitLimit() int {
	return c.RetransmitMult * int(math.Ceil(math.Log10(float64(c.N+1))))
}

// SuspicionMin is Lifeguard's shortest suspicion timeout:
// SuspicionMult * max(1, log10(N)) * ProbeInterval.
func (c ModelConfig) SuspicionMin() time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(c.N))))
	return time.Duration(c.SuspicionMult) * time.Duration(scale*1000) * c.ProbeInterval / 1000
}

// pushPullInterval scales the interval with N as memberlist does: one
// more multiple for each doubling past 32 nodes.
func (c ModelConfig) pushPullInterval() time.Duration {
	if c.N <= 32 {
		return c.PushPullInterval
	}
	mult := math.Ceil(math.Log2(float64(c.N))-math.Log2(32)) + 1
	return time.Duration(mult) * c.PushPullInterval
}

// A message in the model. Sizes are those of the encoded messages (user
// event with a short name, suspect, dead), so packing into packets is
// as tight as it is for real.
type mmsg struct {
	kind uint8 // msgUser, msgSuspect, msgDead
	from int32
	size int
}

const (
	msgUser uint8 = iota
	msgSuspect
	msgDead
)

// bcast is an entry of a node's transmit-limited queue.
type bcast struct {
	msg       mmsg
	layer     int // 0: memberlist's queue, 1: serf's (asked after memberlist's)
	transmits int
	id        int64
}

type suspicion struct {
	start time.Duration
	n     int
	conf  map[int32]bool
	gen   uint32
}

type mnode struct {
	gossipPhase time.Duration
	probePhase  time.Duration
	gossipAt    time.Duration // next scheduled gossip tick, or -1
	queue       []*bcast

	knows      bool // user event
	view       uint8
	deadAt     time.Duration
	susp       *suspicion
	probeTicks int // probe ticks taken since the start
	victimTick int // the tick at which this node's round robin reaches the victim
}

const (
	viewAlive uint8 = iota
	viewSuspect
	viewDead
)

type evKind uint8

const (
	evGossip evKind = iota
	evProbe
	evPacket
	evIndirect // prober sends indirect ping requests
	evNack     // helper sends its nack back
	evSuspect  // prober gives up on the victim
	evTimer    // suspicion timer fires
	evPushPull
)

type mevent struct {
	at   time.Duration
	seq  uint64
	kind evKind
	node int32
	peer int32
	msgs []mmsg
	ack  bool // packet is a ping that the receiver answers
	gen  uint32
}

type eventHeap []*mevent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*mevent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// model is one run: one user event or one failure.
type model struct {
	c      ModelConfig
	rng    *rand.Rand
	nodes  []mnode
	events eventHeap
	now    time.Duration
	seq    uint64
	nextID int64
	limit  int
	victim int32 // -1 for a user event run

	reached []time.Duration
}

func newModel(c ModelConfig, seed uint64, victim int32) *model {
	m := &model{
		c:      c,
		rng:    rand.New(rand.NewPCG(c.Seed, seed)),
		nodes:  make([]mnode, c.N),
		limit:  c.RetransmitLimit(),
		victim: victim,
	}
	pp := c.pushPullInterval()
	for i := range m.nodes {
		n := &m.nodes[i]
		n.gossipPhase = time.Duration(m.rng.Int64N(int64(c.GossipInterval)))
		n.probePhase = time.Duration(m.rng.Int64N(int64(c.ProbeInterval)))
		n.gossipAt = -1
		n.victimTick = m.rng.IntN(max(c.N-1, 1))
		m.push(&mevent{at: n.probePhase, kind: evProbe, node: int32(i)})
		m.push(&mevent{at: time.Duration(m.rng.Int64N(int64(pp))), kind: evPushPull, node: int32(i)})
	}
	return m
}

func (m *model) push(e *mevent) {
	m.seq++
	e.seq = m.seq
	heap.Push(&m.events, e)
}

// delay is one packet's latency; ok is false if the packet is lost.
func (m *model) delay() (time.Duration, bool) {
	l := m.c.Link
	if l.Loss > 0 && m.rng.Float64() < l.Loss {
		return 0, false
	}
	d := l.Delay
	if l.Jitter > 0 {
		d += time.Duration(m.rng.Int64N(int64(l.Jitter)))
	}
	return d, true
}

// enqueue adds a broadcast to node i's queue. Memberlist broadcasts about
// the victim replace the one queued before (memberlist invalidates by node
// name); serf's user event is never invalidated.
func (m *model) enqueue(i int32, msg mmsg) {
	n := &m.nodes[i]
	layer := 1
	if msg.kind != msgUser {
		layer = 0
		for k, b := range n.queue {
			if b.layer == 0 {
				n.queue = append(n.queue[:k], n.queue[k+1:]...)
				break
			}
		}
	}
	m.nextID++
	n.queue = append(n.queue, &bcast{msg: msg, layer: layer, id: m.nextID})
	m.scheduleGossip(i)
}

// scheduleGossip makes sure node i has its next gossip tick queued. Ticks
// of a node with nothing to send do nothing in memberlist, so the model
// only schedules ticks while the queue is not empty.
func (m *model) scheduleGossip(i int32) {
	n := &m.nodes[i]
	if n.gossipAt >= 0 || len(n.queue) == 0 {
		return
	}
	gi := m.c.GossipInterval
	k := (m.now-n.gossipPhase)/gi + 1
	if m.now < n.gossipPhase {
		k = 0
	}
	n.gossipAt = n.gossipPhase + k*gi
	m.push(&mevent{at: n.gossipAt, kind: evGossip, node: i})
}

// take fills a packet of limit bytes from node i's queue as memberlist's
// TransmitLimitedQueue does: memberlist's broadcasts first, then serf's;
// within each, fewest transmits first, then largest, then newest; each
// taken broadcast counts a transmit and leaves the queue at the limit.
func (m *model) take(i int32, limit int) []mmsg {
	n := &m.nodes[i]
	if len(n.queue) == 0 {
		return nil
	}
	sort.Slice(n.queue, func(a, b int) bool {
		x, y := n.queue[a], n.queue[b]
		if x.layer != y.layer {
			return x.layer < y.layer
		}
		if x.transmits != y.transmits {
			return x.transmits < y.transmits
		}
		if x.msg.size != y.msg.size {
			return x.msg.size > y.msg.size
		}
		return x.id > y.id
	})
	const overhead = 2 // compound message length prefix
	var out []mmsg
	used := 0
	keep := n.queue[:0]
	for _, b := range n.queue {
		if used+overhead+b.msg.size > limit {
			keep = append(keep, b)
			continue
		}
		used += overhead + b.msg.size
		out = append(out, b.msg)
		b.transmits++
		if b.transmits < m.limit {
			keep = append(keep, b)
		}
	}
	n.queue = keep
	return out
}

// send delivers msgs from node i to node j, unless lost or j is the
// silent victim. A ping (ack true) is answered with an ack carrying j's
// own broadcasts.
func (m *model) send(i, j int32, msgs []mmsg, ack bool) {
	if j == m.victim || i == m.victim {
		return
	}
	d, ok := m.delay()
	if !ok {
		return
	}
	m.push(&mevent{at: m.now + d, kind: evPacket, node: j, peer: i, msgs: msgs, ack: ack})
}

// randomPeer picks a node other than i (and other than skip), uniformly.
func (m *model) randomPeer(i, skip int32) int32 {
	for {
		j := int32(m.rng.IntN(m.c.N))
		if j != i && j != skip {
			return j
		}
	}
}

func (m *model) record(int32) {
	m.reached = append(m.reached, m.now)
}

// receive processes the messages of one packet at node i.
func (m *model) receive(i int32, msgs []mmsg) {
	n := &m.nodes[i]
	for _, msg := range msgs {
		switch msg.kind {
		case msgUser:
			if !n.knows {
				n.knows = true
				m.record(i)
				m.enqueue(i, msg)
			}
		case msgSuspect:
			m.suspect(i, msg.from)
		case msgDead:
			m.dead(i, msg.from)
		}
	}
}

// suspect is memberlist's suspectNode at node i for a suspicion raised by
// from: start a Lifeguard suspicion timer, or count an independent
// confirmation, re-gossiping what is new.
func (m *model) suspect(i, from int32) {
	n := &m.nodes[i]
	switch n.view {
	case viewDead:
		return
	case viewSuspect:
		s := n.susp
		k := m.suspicionK()
		if s.n >= k || s.conf[from] {
			return
		}
		s.conf[from] = true
		s.n++
		m.armTimer(i)
		m.enqueue(i, mmsg{kind: msgSuspect, from: from, size: suspectSize})
		return
	}
	n.view = viewSuspect
	n.susp = &suspicion{start: m.now, conf: map[int32]bool{from: true}}
	m.armTimer(i)
	m.enqueue(i, mmsg{kind: msgSuspect, from: from, size: suspectSize})
}

// Encoded sizes in bytes of the model's messages with names like
// "node-01234": msgpack maps with the field names.
const (
	suspectSize = 55
	deadSize    = 52
	userSize    = 40
)

func (m *model) suspicionK() int {
	k := m.c.SuspicionMult - 2
	if m.c.N-2 < k {
		k = 0
	}
	return k
}

// armTimer (re)schedules node i's suspicion timeout for its current count
// of confirmations, as memberlist's suspicion.Confirm does.
func (m *model) armTimer(i int32) {
	s := m.nodes[i].susp
	k := m.suspicionK()
	lo := m.c.SuspicionMin()
	hi := time.Duration(m.c.SuspicionMaxMult) * lo
	timeout := hi
	if k < 1 {
		timeout = lo
	} else if s.n > 0 {
		frac := math.Log(float64(s.n)+1) / math.Log(float64(k)+1)
		raw := hi.Seconds() - frac*(hi.Seconds()-lo.Seconds())
		timeout = time.Duration(math.Floor(1000*raw)) * time.Millisecond
		if timeout < lo {
			timeout = lo
		}
	}
	s.gen++
	at := s.start + timeout
	if at < m.now {
		at = m.now
	}
	m.push(&mevent{at: at, kind: evTimer, node: i, gen: s.gen})
}

// dead is memberlist's deadNode at node i: the member is failed.
func (m *model) dead(i, from int32) {
	n := &m.nodes[i]
	if n.view == viewDead {
		return
	}
	n.view = viewDead
	n.deadAt = m.now
	n.susp = nil
	m.record(i)
	m.enqueue(i, mmsg{kind: msgDead, from: from, size: deadSize})
}

// gossipTargets picks node i's GossipNodes distinct gossip targets: memberlist
// skips members dead for longer than GossipToTheDeadTime.
func (m *model) gossipTargets(i int32) []int32 {
	out := make([]int32, 0, m.c.GossipNodes)
	for len(out) < m.c.GossipNodes {
		j := m.randomPeer(i, -1)
		if j == m.victim {
			n := &m.nodes[i]
			if n.view == viewDead && m.now-n.deadAt > m.c.GossipToTheDeadTime {
				continue
			}
		}
		dup := false
		for _, o := range out {
			dup = dup || o == j
		}
		if !dup {
			out = append(out, j)
		}
	}
	return out
}

func (m *model) step(e *mevent) {
	m.now = e.at
	i := e.node
	n := &m.nodes[i]
	if i == m.victim && e.kind != evPacket {
		return // the victim is silent: nothing it does reaches anyone
	}
	switch e.kind {
	case evGossip:
		n.gossipAt = -1
		for _, j := range m.gossipTargets(i) {
			msgs := m.take(i, m.c.PacketSize-2)
			if len(msgs) == 0 {
				break
			}
			m.send(i, j, msgs, false)
		}
		m.scheduleGossip(i)
	case evProbe:
		m.push(&mevent{at: m.now + m.c.ProbeInterval, kind: evProbe, node: i})
		tick := n.probeTicks
		n.probeTicks++
		if m.victim >= 0 && tick == n.victimTick && n.view != viewDead {
			// The ping to the victim carries piggybacked broadcasts into
			// the void; indirect probes follow after ProbeTimeout and the
			// node suspects the victim at the end of the probe interval.
			m.take(i, m.c.PacketSize-40)
			m.push(&mevent{at: m.now + m.c.ProbeTimeout, kind: evIndirect, node: i})
			m.push(&mevent{at: m.now + m.c.ProbeInterval, kind: evSuspect, node: i})
			return
		}
		j := m.randomPeer(i, m.victim)
		m.send(i, j, m.take(i, m.c.PacketSize-40), true)
	case evPacket:
		if i == m.victim {
			return
		}
		m.receive(i, e.msgs)
		if e.ack {
			m.send(i, e.peer, m.take(i, m.c.PacketSize-40), false)
		}
	case evIndirect:
		for range m.c.IndirectChecks {
			j := m.randomPeer(i, m.victim)
			d, ok := m.delay()
			msgs := m.take(i, m.c.PacketSize-60)
			if !ok {
				continue
			}
			// The helper gets the request (and its piggyback), pings the
			// victim with its own piggyback, and nacks after ProbeTimeout.
			m.push(&mevent{at: m.now + d, kind: evPacket, node: j, peer: i, msgs: msgs})
			m.push(&mevent{at: m.now + d, kind: evNack, node: j, peer: i})
		}
	case evNack:
		// Arrival of the indirect request at the helper: its ping to the
		// victim carries a piggyback; the nack follows ProbeTimeout later.
		if e.gen == 0 {
			m.take(i, m.c.PacketSize-40)
			m.push(&mevent{at: m.now + m.c.ProbeTimeout, kind: evNack, node: i, peer: e.peer, gen: 1})
			return
		}
		m.send(i, e.peer, m.take(i, m.c.PacketSize-40), false)
	case evSuspect:
		m.suspect(i, i)
	case evTimer:
		if n.view == viewSuspect && n.susp != nil && n.susp.gen == e.gen {
			m.dead(i, i)
		}
	case evPushPull:
		m.push(&mevent{at: m.now + m.c.pushPullInterval(), kind: evPushPull, node: i})
		j := m.randomPeer(i, -1)
		if j == m.victim {
			return
		}
		m.pushPull(i, j)
		m.pushPull(j, i)
	}
}

// pushPull merges node from's state into node to: serf's recent user
// events, and memberlist's view of the victim (a suspect or dead member
// becomes suspect, raised by the merging node itself).
func (m *model) pushPull(from, to int32) {
	f, t := &m.nodes[from], &m.nodes[to]
	if f.knows && !t.knows {
		t.knows = true
		m.record(to)
		m.enqueue(to, mmsg{kind: msgUser, size: userSize})
	}
	if m.victim >= 0 && f.view != viewAlive {
		m.suspect(to, to)
	}
}

// run processes events until want nodes are reached or the horizon.
func (m *model) run(want int, horizon time.Duration) {
	for len(m.events) > 0 && len(m.reached) < want {
		e := heap.Pop(&m.events).(*mevent)
		if e.at > horizon {
			break
		}
		m.step(e)
	}
}

// ModelUserEvent runs the model of one user event sent by a random node
// of an idle cluster; trial selects the random stream.
func ModelUserEvent(c ModelConfig, trial uint64, horizon time.Duration) Spread {
	m := newModel(c, trial, -1)
	sender := int32(m.rng.IntN(c.N))
	n := &m.nodes[sender]
	n.knows = true
	m.record(sender)
	m.enqueue(sender, mmsg{kind: msgUser, size: userSize})
	m.run(c.N, horizon)
	return Spread{Latencies: m.reached, Total: c.N}
}

// ModelFailure runs the model of one node of an idle cluster going silent
// at time zero, until every other node has declared it dead or horizon.
func ModelFailure(c ModelConfig, trial uint64, horizon time.Duration) Spread {
	m := newModel(c, trial, 0)
	m.victim = int32(m.rng.IntN(c.N))
	m.run(c.N-1, horizon)
	return Spread{Latencies: m.reached, Total: c.N - 1}
}
