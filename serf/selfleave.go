package serf

import (
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// A graceful leave reaches a peer twice: as Serf's leave intent, and as
// memberlist's dead message about the leaving node sent by that node
// itself, which memberlist records as "left". Serf learns of the second
// only through memberlist's NotifyLeave, which does not say whether the
// node left or was declared dead, so Serf tells the two apart by the
// intent alone: a peer that handles the dead message before any copy of
// the intent declares the node failed, runs its member-failed handlers and
// keeps trying to reconnect to it. When a copy of the intent comes later
// the member becomes left; when none does (the intent's gossip is spent),
// it stays failed until a push/pull, a minute or more later. On a busy
// machine, where the intent's last hops are slow, a few peers of a
// hundred lose that race on a plain leave.
//
// The transport therefore notes each dead message a node sent about
// itself as it arrives, and handleNodeLeave takes an alive member whose
// own dead message was noted as having left. Peers see nothing of this.
// Like the other readings of packets, it needs gossip that is neither
// encrypted nor labelled (the transport sees only ciphertext then); push
// and pull exchanges, which memberlist reads itself, are not looked at.

// selfLeaveTTL bounds how long a noted leave stands: memberlist handles
// the packet within milliseconds, and a later notice of the node's death
// (a rejoin and a crash after it) must not be taken for that leave.
const selfLeaveTTL = 20 * time.Second

// selfLeaveMax bounds the notes kept; dead messages about nodes this
// node never knew are noted too and expire unused.
const selfLeaveMax = 256

// selfLeaves is the set of nodes whose own dead message arrived lately.
type selfLeaves struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// note records that node announced its own leave at now.
func (l *selfLeaves) note(node string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[string]time.Time)
	}
	if len(l.seen) >= selfLeaveMax {
		for n, at := range l.seen {
			if now.Sub(at) > selfLeaveTTL {
				delete(l.seen, n)
			}
		}
		if len(l.seen) >= selfLeaveMax {
			return
		}
	}
	l.seen[node] = now
}

// take reports whether node announced its own leave within selfLeaveTTL
// of now, and forgets it.
func (l *selfLeaves) take(node string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.seen[node]
	delete(l.seen, node)
	return ok && now.Sub(at) <= selfLeaveTTL
}

// forget drops any note about node: it is alive again.
func (l *selfLeaves) forget(node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, node)
}

// selfLeaveOf returns the node a memberlist dead message is about, when
// that node sent it itself; anything else, or anything malformed, gives
// false.
func selfLeaveOf(msg []byte) (string, bool) {
	if len(msg) == 0 || msg[0] != mlDeadMsg {
		return "", false
	}
	var a accusation
	if err := codec.NewDecoderBytes(msg[1:], msgpackHandle).Decode(&a); err != nil {
		return "", false
	}
	if a.Node == "" || a.Node != a.From {
		return "", false
	}
	return a.Node, true
}

// noteSelfLeaves notes every leave announced in a received packet, as
// memberlist reads it: a checksum header, a compound, the messages.
func noteSelfLeaves(pkt []byte, note func(node string)) {
	eachMessage(pkt, func(msg []byte) bool {
		if node, ok := selfLeaveOf(msg); ok {
			note(node)
		}
		return true
	})
}
