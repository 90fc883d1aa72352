package serf

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"slices"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Early refutation.
//
// A member suspected of failure stays a member only if it refutes the
// suspicion (an alive message about itself with a higher incarnation)
// before the suspicion timers of the others run out. memberlist refutes
// when its packet handler gets to the suspect message, and that handler
// serves one queue: alive messages first, then suspicions, deaths and
// Serf's own messages in the order they came. On a machine short of CPU,
// the storm of suspicions a starved cluster raises fills that queue, and
// the one message this member must answer at once waits behind hundreds
// about others, while the others' timers (shortened by every
// confirmation they gossip) run out.
//
// The transport therefore looks at every packet as it arrives, before
// memberlist queues it; on a suspicion or a death of this node that
// someone else raised, the refuter re-advertises the node through
// memberlist's UpdateNode: an alive message about this node, the same
// address, meta and versions, and the next incarnation, exactly what
// memberlist's refutation sends. memberlist then finds the queued
// suspicion older than the node's incarnation and drops it. Peers cannot
// tell the two refutations apart; the log reads as memberlist's.
//
// A member learns it is suspected only when gossip happens to bring it
// the suspicion: gossip goes to three random members at a time, and on a
// starved machine a gossip round may come seconds late, so the accused is
// often the last to hear. memberlist sends the suspicion to the accused
// itself only with its next probe of it, which in a cluster of fifty is
// a minute away. So when this node raises a suspicion or declares a
// death, the transport sees the message go out in gossip and the node
// also sends it, once, straight to the accused. That is one more copy of
// a message every member may get from any other; a real Serf peer
// refutes it as it would the gossiped one. In turn, when this node
// refutes, the first copy of its alive message that goes out is also
// sent straight to the members whose accusations it answered: their
// suspicion timers started first and run out first.
//
// Only unencrypted, unlabelled packets are looked at (the transport sees
// the others sealed); those nodes refute as memberlist does.

// memberlist's message types that carry an accusation, and its compound
// message, which may hold them.
const (
	mlSuspectMsg  = 3
	mlAliveMsg    = 4
	mlDeadMsg     = 5
	mlCompoundMsg = 7
)

// accusation is a suspect or dead message about this node: memberlist
// encodes both with these fields.
type accusation struct {
	Incarnation uint32
	Node        string
	From        string
	dead        bool
}

// ownAccusations calls found with every suspect or dead message that name
// itself raised in an outgoing packet, and the accusation decoded.
func ownAccusations(pkt []byte, name string, found func(msg []byte, a accusation)) {
	eachMessage(pkt, func(msg []byte) bool {
		ownAccusation(msg, name, found)
		return true
	})
}

func ownAccusation(msg []byte, name string, found func(msg []byte, a accusation)) {
	if len(msg) == 0 || (msg[0] != mlSuspectMsg && msg[0] != mlDeadMsg) || !bytes.Contains(msg[1:], []byte(name)) {
		return
	}
	var a accusation
	if err := codec.NewDecoderBytes(msg[1:], msgpackHandle).Decode(&a); err != nil || a.From != name || a.Node == name {
		return
	}
	a.dead = msg[0] == mlDeadMsg
	found(msg, a)
}

// findAccusation returns the first suspect or dead message about name
// that another node raised, in a packet as memberlist would read it (a
// checksum header, a compound message, the message itself). It reads
// only: anything malformed is left to memberlist to judge and log.
func findAccusation(pkt []byte, name string) (accusation, bool) {
	if len(pkt) >= 5 && pkt[0] == mlHasCrcMsg {
		if crc32.ChecksumIEEE(pkt[5:]) != binary.BigEndian.Uint32(pkt[1:5]) {
			return accusation{}, false
		}
		pkt = pkt[5:]
	}
	return scanMessage(pkt, name, true)
}

// scanMessage looks at one message; compound says whether it may be a
// compound message (memberlist nests none within another).
func scanMessage(msg []byte, name string, compound bool) (accusation, bool) {
	if len(msg) == 0 {
		return accusation{}, false
	}
	switch msg[0] {
	case mlSuspectMsg, mlDeadMsg:
		// Most accusations are about someone else: decode only those
		// that hold the name.
		if !bytes.Contains(msg[1:], []byte(name)) {
			return accusation{}, false
		}
		var a accusation
		if err := codec.NewDecoderBytes(msg[1:], msgpackHandle).Decode(&a); err != nil {
			return accusation{}, false
		}
		if a.Node != name || a.From == name {
			// A dead message from this node itself is its leave.
			return accusation{}, false
		}
		a.dead = msg[0] == mlDeadMsg
		return a, true
	case mlCompoundMsg:
		if !compound || len(msg) < 2 {
			return accusation{}, false
		}
		n := int(msg[1])
		body := msg[2:]
		if len(body) < 2*n {
			return accusation{}, false
		}
		lengths, parts := body[:2*n], body[2*n:]
		for i := range n {
			l := int(binary.BigEndian.Uint16(lengths[2*i:]))
			if l > len(parts) {
				return accusation{}, false
			}
			if a, ok := scanMessage(parts[:l], name, false); ok {
				return a, true
			}
			parts = parts[l:]
		}
	}
	return accusation{}, false
}

// refuter re-advertises this node when the transport finds it accused.
// It runs on the transport's packet reader, before the packet goes on to
// memberlist, so that memberlist finds the accusation already answered
// (were it answered afterwards, both would refute).
type refuter struct {
	// answer refutes; Serf.refute, or a test's.
	answer func(accusation)
	// answered is the highest incarnation refuted so far: accusations at
	// or below it are old ones, still being gossiped, and need nothing.
	answered uint32
	any      bool
}

// accused answers an accusation unless it is an old one.
func (r *refuter) accused(a accusation) {
	if r.any && a.Incarnation <= r.answered {
		return
	}
	r.answered, r.any = a.Incarnation, true
	r.answer(a)
}

// refute re-advertises the node unless it is leaving or has left (its
// death is then its leave).
func (s *Serf) refute(a accusation) {
	if s.State() != SerfAlive {
		return
	}
	if a.dead {
		s.mlLogger.Printf("[WARN] memberlist: Refuting a dead message (from: %s)", a.From)
	} else {
		s.mlLogger.Printf("[WARN] memberlist: Refuting a suspect message (from: %s)", a.From)
	}
	if s.tellCh != nil {
		s.answerAccusers(a.From)
	}
	// The alive message is queued when UpdateNode returns; its wait for
	// the first send would hold up the packet reader, so it is cut short.
	_ = s.memberlist.UpdateNode(time.Nanosecond)
}

// answerAccusers notes the member whose accusation was just refuted:
// the refutation goes to it straight away as well (answered), for its
// suspicion timer is the first to run out.
func (s *Serf) answerAccusers(from string) {
	s.accuserLock.Lock()
	defer s.accuserLock.Unlock()
	if len(s.accusers) < maxAccusers && !slices.Contains(s.accusers, from) {
		s.accusers = append(s.accusers, from)
	}
	s.accused.Store(true)
}

// maxAccusers bounds the accusers answered directly per refutation.
const maxAccusers = 8

// answered is handed the first alive message about this node that goes
// out after a refutation, and queues it for the accusers.
func (s *Serf) answered(msg []byte, inc uint32) {
	s.accuserLock.Lock()
	to := s.accusers
	s.accusers = nil
	s.accused.Store(false)
	s.accuserLock.Unlock()
	for _, name := range to {
		s.tell(telling{msg: bytes.Clone(msg), to: name, key: tellKey(mlAliveMsg, inc)})
	}
}

// telling is a message on its way straight to one member.
type telling struct {
	msg []byte
	to  string
	// key is the message's type and incarnation: a member is told each
	// once.
	key uint64
}

func tellKey(msgType byte, inc uint32) uint64 { return uint64(inc)<<8 | uint64(msgType) }

// tellQueueDepth bounds the messages waiting to be told; beyond it they
// are left to gossip.
const tellQueueDepth = 64

// told queues an accusation this node raised for the accused. It never
// blocks: it runs on memberlist's sending goroutines.
func (s *Serf) told(msg []byte, a accusation) {
	s.tell(telling{msg: bytes.Clone(msg), to: a.Node, key: tellKey(msg[0], a.Incarnation)})
}

func (s *Serf) tell(m telling) {
	select {
	case s.tellCh <- m:
	default:
	}
}

// tellLoop sends each message queued to its member, once: memberlist
// sends the same message again with every retransmission and every probe
// of a suspect. It runs until shutdown.
func (s *Serf) tellLoop(t *netTransport) {
	told := make(map[string]uint64)
	for {
		var m telling
		select {
		case m = <-s.tellCh:
		case <-s.shutdownCh:
			return
		}
		if last, ok := told[m.to]; ok && last == m.key {
			continue
		}
		s.memberLock.RLock()
		ms, ok := s.members[m.to]
		var addr netip.AddrPort
		if ok {
			ip, _ := netip.AddrFromSlice(ms.Addr)
			addr = netip.AddrPortFrom(ip.Unmap(), ms.Port)
		}
		s.memberLock.RUnlock()
		if !ok || !addr.IsValid() {
			continue
		}
		if len(told) >= 4096 {
			clear(told)
		}
		told[m.to] = m.key
		t.writeDirect(m.msg, addr)
	}
}

// ownAlive returns the first alive message about name in an outgoing
// packet, and its incarnation.
func ownAlive(pkt []byte, name string) ([]byte, uint32, bool) {
	var found []byte
	var inc uint32
	eachMessage(pkt, func(msg []byte) bool {
		if len(msg) == 0 || msg[0] != mlAliveMsg || !bytes.Contains(msg[1:], []byte(name)) {
			return true
		}
		var a struct {
			Incarnation uint32
			Node        string
		}
		if err := codec.NewDecoderBytes(msg[1:], msgpackHandle).Decode(&a); err != nil || a.Node != name {
			return true
		}
		found, inc = msg, a.Incarnation
		return false
	})
	return found, inc, found != nil
}

// eachMessage calls f with every message of a packet as memberlist reads
// it (after any checksum header, each part of a compound), until f
// returns false. A malformed compound ends the walk.
func eachMessage(pkt []byte, f func(msg []byte) bool) {
	if len(pkt) >= 5 && pkt[0] == mlHasCrcMsg {
		pkt = pkt[5:]
	}
	if len(pkt) == 0 || pkt[0] != mlCompoundMsg {
		f(pkt)
		return
	}
	if len(pkt) < 2 {
		return
	}
	n := int(pkt[1])
	body := pkt[2:]
	if len(body) < 2*n {
		return
	}
	lengths, parts := body[:2*n], body[2*n:]
	for i := range n {
		l := int(binary.BigEndian.Uint16(lengths[2*i:]))
		if l > len(parts) || !f(parts[:l]) {
			return
		}
		parts = parts[l:]
	}
}
