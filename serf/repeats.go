package serf

import (
	"bytes"
	"hash/maphash"
	"log"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

// Repeated gossip, dropped as it arrives.
//
// Every member hears each broadcast many times: whoever learns it passes
// it on to three members a round for several rounds (memberlist's
// retransmit limit, 4 × log10(N+1) transmissions at the LAN defaults),
// so in a cluster of 200 each member gets a dozen copies of every alive
// message and every Serf intent, and only the first tells it anything.
// memberlist decodes each copy all the same, with a new msgpack decoder
// that builds its type tables anew every time, and Serf then decodes the
// copies of its own messages. In a fleet of 200 agents booting at once
// that was over a tenth of all their CPU, spent on news already known.
//
// The transport therefore keeps, for a while, a hash of each alive
// message and each Serf message it has handed memberlist, and drops a
// later byte-for-byte copy before memberlist reads it. Such a copy would
// have changed nothing: memberlist takes an alive message only when its
// incarnation is newer than the one it holds, which the first copy set,
// and Serf keeps its intents, events and queries by Lamport time and
// name or id, which the first copy recorded. To memberlist and to every
// peer a dropped copy is the same as one lost on the way, as UDP loses
// packets; what goes on the wire does not change.
//
// Some copies are never dropped. Those that name this node: every copy
// of an alive message with its name and another address is a name
// conflict that memberlist reports and Serf resolves, and every copy of
// a leave intent about it is refuted. Suspicions and deaths: one that
// came before memberlist knew the member is ignored, and a copy after
// would count. And nothing in a packet memberlist must see as it came
// (a checksum that fails, a compound cut short), nor anything sealed by
// encryption or a label, which the transport cannot read.
//
// Handing a message to memberlist is not yet handling it: memberlist
// queues alive messages and gossip for its handler, and drops what
// arrives while its queue of that kind is full (HandoffQueueDepth), as
// a machine short of CPU can make it. A dropped original would take
// every later copy with it, which no loss on the wire does, and a
// refutation lost that way leaves a healthy member to be declared
// dead. memberlist says so only in its log, so its logger is tapped
// (queueDropTap) and every hash kept is forgotten at each such drop:
// the next copies go through, as they would without this file.

// mlUserMsg is memberlist's type for a delegate's (Serf's) message.
const mlUserMsg = 8

// A copy is dropped when its original was handed on less than
// repeatWindow ago, at least; up to twice that when the hashes of the
// last window are still kept. At most repeatsKept hashes are kept per
// window: a window that fills up starts the next one early.
const (
	repeatWindow = 10 * time.Second
	repeatsKept  = 4096
)

// gossipRepeats remembers the messages handed on. Only the transport's
// reader uses it.
type gossipRepeats struct {
	seed maphash.Seed
	// self is this node's name as msgpack encodes it in messages.
	self []byte
	// cur holds the hashes of this window, prev those of the last.
	cur, prev map[uint64]struct{}
	since     time.Time // when cur began
	// dropped counts the copies left out; for tests.
	dropped atomic.Uint64
	// forget is set when memberlist dropped a message handed to it;
	// forgets counts the times; for tests.
	forget  atomic.Bool
	forgets atomic.Uint64
}

func newGossipRepeats(name string) *gossipRepeats {
	var self []byte
	_ = codec.NewEncoderBytes(&self, msgpackHandle).Encode(name)
	return &gossipRepeats{
		seed: maphash.MakeSeed(),
		self: self,
		cur:  make(map[uint64]struct{}),
		prev: make(map[uint64]struct{}),
	}
}

// key returns the hash of msg when a later copy of it may be dropped.
func (g *gossipRepeats) key(msg []byte) (uint64, bool) {
	if len(msg) < 2 || (msg[0] != mlAliveMsg && msg[0] != mlUserMsg) {
		return 0, false
	}
	if bytes.Contains(msg[1:], g.self) {
		return 0, false
	}
	return maphash.Bytes(g.seed, msg), true
}

// check says whether msg is a copy to drop (and counts it); if not, it
// returns the hash to remember once msg is queued, if any. g may be nil.
func (g *gossipRepeats) check(msg []byte) (keys []uint64, repeat bool) {
	if g == nil {
		return nil, false
	}
	k, ok := g.key(msg)
	if !ok {
		return nil, false
	}
	if g.seen(k) {
		g.dropped.Add(1)
		return nil, true
	}
	return []uint64{k}, false
}

// tick starts a new window when the current one is over, and forgets
// every hash kept when memberlist has dropped a message since.
func (g *gossipRepeats) tick(now time.Time) {
	if g.forget.Load() && g.forget.Swap(false) {
		clear(g.prev)
		clear(g.cur)
		g.since = now
		g.forgets.Add(1)
		return
	}
	switch age := now.Sub(g.since); {
	case age >= 2*repeatWindow:
		clear(g.prev)
		clear(g.cur)
		g.since = now
	case age >= repeatWindow:
		g.rotate(now)
	}
}

func (g *gossipRepeats) rotate(now time.Time) {
	g.prev, g.cur = g.cur, g.prev
	clear(g.cur)
	g.since = now
}

// seen says whether a message of hash k was handed on in this window or
// the last.
func (g *gossipRepeats) seen(k uint64) bool {
	if _, ok := g.cur[k]; ok {
		return true
	}
	_, ok := g.prev[k]
	return ok
}

// add records that a message of hash k was handed on.
func (g *gossipRepeats) add(k uint64, now time.Time) {
	if len(g.cur) >= repeatsKept {
		g.rotate(now)
	}
	g.cur[k] = struct{}{}
}

// forgetAll has every hash kept forgotten before the next packet is
// read. Any goroutine may call it.
func (g *gossipRepeats) forgetAll() { g.forget.Store(true) }

// handlerQueueFull is in the line memberlist logs when its handler's
// queue drops a message (memberlist's net.go), after the level.
var handlerQueueFull = []byte("memberlist: handler queue full, dropping message")

// queueDropTap passes memberlist's log lines on to the logger it would
// have used, unchanged, and calls onDrop for each line saying that its
// handler's queue dropped a message.
type queueDropTap struct {
	out    *log.Logger // where the lines go: its writer, looked up per line
	onDrop func()
}

func (t *queueDropTap) Write(p []byte) (int, error) {
	if bytes.Contains(p, handlerQueueFull) {
		t.onDrop()
	}
	return t.out.Writer().Write(p)
}

// tapQueueDrops returns the memberlist configuration to create memberlist
// with: conf itself when it cannot be tapped (it names both a Logger and
// a LogOutput, which memberlist refuses as it is), else a copy whose
// Logger writes exactly what memberlist's would, through the tap.
func tapQueueDrops(conf *memberlist.Config, onDrop func()) *memberlist.Config {
	if conf.Logger != nil && conf.LogOutput != nil {
		return conf
	}
	base := loggerFor(conf.Logger, conf.LogOutput)
	c := *conf
	c.LogOutput = nil
	c.Logger = log.New(&queueDropTap{out: base, onDrop: onDrop}, base.Prefix(), base.Flags())
	return &c
}
