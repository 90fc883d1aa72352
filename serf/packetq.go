package serf

import (
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Received packets in order of urgency.
//
// memberlist's packet reader answers pings and hands acks to the probes
// waiting for them at once, but it takes packets one at a time, in the
// order they came, and most of them are gossip, whose messages it then
// queues for its handler. On a machine short of CPU the packets wait in
// the socket: an ack that came in time waits there behind seconds of
// gossip, the probe that sent the ping runs out of time, and a healthy
// member is suspected; a ping from another member waits the same way,
// and this node is suspected in turn.
//
// So the transport reads every packet as soon as it can and keeps them
// in four queues, which it hands memberlist most urgent first: the
// replies this node's probes wait for (acks and nacks), then other
// members' probes of it (pings and indirect pings), then news that a
// member is alive (among them the refutations that clear the suspicion
// timers running here, each of which would otherwise declare a healthy
// member dead when it runs out behind the backlog), then the rest. A
// compound message goes with its most urgent part. Packets it cannot
// read (sealed by encryption or a label) are not sorted: they go to
// memberlist in the order they came, as before. Nothing a peer can see
// changes: the messages are memberlist's, handled as memberlist handles
// them, and UDP never promised an order.
//
// Only the urgent messages move. memberlist piggybacks gossip on its
// pings and acks, and a compound message is split into its messages:
// the urgent ones go to their queues, the others stay with the rest of
// the gossip in the order they came. Serf depends on that order: a
// member's leave intent, gossiped before memberlist's message that the
// member has left, is what makes the others see it left rather than
// failed; a dead message riding on a ping would otherwise overtake it.
// So does the order of intents and user events generally.

// memberlist's message types that the queues look for.
const (
	mlPingMsg         = 0
	mlIndirectPingMsg = 1
	mlAckRespMsg      = 2
	mlNackRespMsg     = 11
)

// Packet urgencies, most urgent first.
const (
	urgentReply = iota
	urgentProbe
	urgentAlive
	urgentNone
	urgencies
)

// The queues hold at most packetQueueBytes in all, what the socket's
// receive buffer is asked to hold; a packet beyond that is dropped, as
// the socket drops what does not fit its buffer.
const packetQueueBytes = udpRecvBufSize

// packetPart is a message of a received packet and its urgency, with
// the hashes of the messages in it that are to be remembered once it is
// queued (repeats.go).
type packetPart struct {
	buf     []byte
	urgency int
	keys    []uint64
}

// splitUrgent returns the messages of pkt to queue, in the order they
// came: pkt whole when it is not a compound message or none of its
// messages is urgent (or when memberlist should see it whole: a
// checksum that does not match, a compound cut short), else each of its
// messages on its own, as memberlist would handle them one by one.
func splitUrgent(pkt []byte) []packetPart { return splitPacket(pkt, nil) }

// splitPacket is splitUrgent that also leaves out the messages g has
// seen handed on before; a compound that loses one is split. g may be
// nil.
func splitPacket(pkt []byte, g *gossipRepeats) []packetPart {
	whole := func(u int) []packetPart { return []packetPart{{buf: pkt, urgency: u}} }
	body := pkt
	if len(body) >= 5 && body[0] == mlHasCrcMsg {
		if crc32.ChecksumIEEE(body[5:]) != binary.BigEndian.Uint32(body[1:5]) {
			return whole(urgentNone) // memberlist warns and drops it
		}
		body = body[5:]
	}
	if len(body) == 0 {
		return whole(urgentNone)
	}
	if body[0] != mlCompoundMsg {
		keys, repeat := g.check(body)
		if repeat {
			return nil
		}
		part := whole(urgencyOf(body[0]))
		part[0].keys = keys
		return part
	}
	if len(body) < 2 || len(body) < 2+2*int(body[1]) {
		return whole(urgentNone)
	}
	n := int(body[1])
	lengths, rest := body[2:2+2*n], body[2+2*n:]
	parts := make([]packetPart, 0, n)
	var keys []uint64
	best, dropped := urgentNone, false
	for i := range n {
		l := int(binary.BigEndian.Uint16(lengths[2*i:]))
		if l > len(rest) {
			return whole(urgentNone) // memberlist warns of the truncated messages
		}
		msg := rest[:l]
		rest = rest[l:]
		if l == 0 {
			continue
		}
		partKeys, repeat := g.check(msg)
		if repeat {
			dropped = true
			continue
		}
		keys = append(keys, partKeys...)
		part := packetPart{buf: msg, urgency: urgencyOf(msg[0]), keys: partKeys}
		parts = append(parts, part)
		best = min(best, part.urgency)
	}
	if best == urgentNone && !dropped {
		return []packetPart{{buf: pkt, urgency: urgentNone, keys: keys}}
	}
	return parts
}

// urgency returns the class of a packet as memberlist would read it: that
// of its most urgent message.
func urgency(pkt []byte) int {
	best := urgentNone
	for _, part := range splitUrgent(pkt) {
		best = min(best, part.urgency)
	}
	return best
}

func urgencyOf(msgType byte) int {
	switch msgType {
	case mlAckRespMsg, mlNackRespMsg:
		return urgentReply
	case mlPingMsg, mlIndirectPingMsg:
		return urgentProbe
	case mlAliveMsg:
		return urgentAlive
	}
	return urgentNone
}

// packetQueue holds received packets until memberlist takes them.
type packetQueue struct {
	mu     sync.Mutex
	queues [urgencies][]*memberlist.Packet
	bytes  int // held in all queues
	// ready has a token while any queue holds a packet.
	ready chan struct{}
}

func newPacketQueue() *packetQueue { return &packetQueue{ready: make(chan struct{}, 1)} }

// push adds p to the queue of its urgency; false when the queues are
// full.
func (q *packetQueue) push(p *memberlist.Packet, u int) bool {
	q.mu.Lock()
	if q.bytes+len(p.Buf) > packetQueueBytes {
		q.mu.Unlock()
		return false
	}
	q.bytes += len(p.Buf)
	q.queues[u] = append(q.queues[u], p)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// pop takes the most urgent packet, nil when none is queued.
func (q *packetQueue) pop() *memberlist.Packet {
	q.mu.Lock()
	defer q.mu.Unlock()
	for u := range q.queues {
		if len(q.queues[u]) > 0 {
			p := q.queues[u][0]
			q.bytes -= len(p.Buf)
			q.queues[u][0] = nil
			q.queues[u] = q.queues[u][1:]
			if len(q.queues[u]) == 0 {
				q.queues[u] = q.queues[u][:0:0]
			}
			return p
		}
	}
	return nil
}
