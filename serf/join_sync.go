package serf

import (
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// Join sync: a few early push/pull exchanges after a join.
//
// memberlist spreads a new node's alive message by gossip, each holder
// retransmitting it a bounded number of times (RetransmitMult times
// log10 of the cluster size) to random peers it knows. When many nodes
// join at once every node hears of most of the others this way, but each
// (node, newcomer) pair has a small chance that no retransmission reaches
// it; with N nodes joining together there are N² such pairs, so at N = 50
// one pair or more is often missed. The missed node then waits for the
// periodic push/pull, every PushPullInterval (30s on a LAN) scaled up with
// the cluster size, and the last node of a concurrent join of 50 sees
// everyone only after a minute or more (Serf behaves the same way).
//
// After a successful Join the node therefore runs joinSync: once it has
// heard of no new member for a quiet period, it does one push/pull with a
// random live member, the same exchange memberlist's periodic push/pull
// and a join make (peers see an ordinary join, as when a user runs
// `serf join` against a member), and repeats at growing intervals until
// two rounds in a row teach it nothing. It does no more than
// joinSyncMaxRounds rounds and sends no join intent.
//
// The quiet period is short, two gossip intervals, so that a node gossip
// missed is mended within a second of the epidemic's end. On a machine
// short of CPU (a fleet of agents booting on a few cores) gossip is late
// rather than lost: an agent that waited for a CPU for a quarter or more
// of the time since its last look stretches the quiet period to five
// intervals, and a round that taught it more than a couple of members,
// which means the epidemic was still under way, doubles the wait for
// the next instead of starting over. Push/pulls made early there would
// only add to the work that slows everyone down.

const (
	// joinSyncQuietGossips is the quiet period in gossip intervals:
	// 2 × 200ms on a LAN. Gossip reaches a node about three times an
	// interval, so two that bring no new member mean the epidemic has
	// passed it.
	joinSyncQuietGossips = 2
	// joinSyncBusyQuietGossips is the quiet period of an agent short of
	// CPU: 5 × 200ms on a LAN.
	joinSyncBusyQuietGossips = 5
	// joinSyncBusyRunQueue is the share of the time since the last look
	// that the agent's threads may have waited for a CPU before it counts
	// as short of CPU.
	joinSyncBusyRunQueue = 0.25
	// joinSyncMaxDelayGossips caps, in gossip intervals, how far a stream
	// of new members can postpone a round: 20 × 200ms on a LAN.
	joinSyncMaxDelayGossips = 20
	// joinSyncMaxRounds bounds the push/pulls one join can cause.
	joinSyncMaxRounds = 8
	// joinSyncIdleRounds rounds in a row that learn nothing end the sync.
	joinSyncIdleRounds = 2
	// joinSyncFewMembers is the most members a round may teach and still
	// count as mending what gossip missed; after a round that teaches
	// more the wait doubles.
	joinSyncFewMembers = 2
)

// noteNewMember tells a running join sync that a member was learned. It
// never blocks, so it may be called with memberLock held.
func (s *Serf) noteNewMember() {
	select {
	case s.newMemberCh <- struct{}{}:
	default:
	}
}

// startJoinSync starts joinSync unless one is running; a running one is
// told about the new join as about a new member.
func (s *Serf) startJoinSync() {
	if !s.joinSyncRunning.CompareAndSwap(false, true) {
		s.noteNewMember()
		return
	}
	if !s.goFunc(func() {
		defer s.joinSyncRunning.Store(false)
		s.joinSync()
	}) {
		s.joinSyncRunning.Store(false)
	}
}

// joinSync runs the rounds described at the top of this file.
func (s *Serf) joinSync() {
	quiet := joinSyncQuietGossips * s.config.MemberlistConfig.GossipInterval
	if quiet <= 0 {
		return
	}
	// Drain a signal left over from before this join.
	select {
	case <-s.newMemberCh:
	default:
	}

	busyQuiet := joinSyncBusyQuietGossips * s.config.MemberlistConfig.GossipInterval
	maxDelay := joinSyncMaxDelayGossips * s.config.MemberlistConfig.GossipInterval
	cpu := newCPUWait()
	wait := quiet
	deadline := time.Now().Add(max(maxDelay, wait))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	idle := 0
	stretched := false
	for round := 0; round < joinSyncMaxRounds; {
		select {
		case <-s.newMemberCh:
			// Still learning by gossip: wait for quiet, within bounds.
			idle = 0
			stretched = false
			next := min(quiet, time.Until(deadline))
			timer.Reset(max(next, 0))
			continue
		case <-timer.C:
		case <-s.shutdownCh:
			return
		}
		if s.State() != SerfAlive {
			return
		}
		if !stretched && cpu.short(joinSyncBusyRunQueue) {
			if rest := min(busyQuiet-quiet, time.Until(deadline)); rest > 0 {
				stretched = true
				timer.Reset(rest)
				continue
			}
		}
		stretched = false
		round++
		switch learned := s.pushPullRandom(); {
		case learned == 0:
			idle++
			if idle >= joinSyncIdleRounds {
				return
			}
			wait *= 2
		case learned <= joinSyncFewMembers:
			idle = 0
			wait = quiet
		default:
			idle = 0
			wait *= 2
		}
		deadline = time.Now().Add(max(maxDelay, wait))
		timer.Reset(wait)
	}
}

// pushPullRandom exchanges state with one random live member other than
// this node and returns how many members it learned of that it did not
// know.
func (s *Serf) pushPullRandom() int {
	// Serf's own member records, which are copies: the nodes memberlist's
	// Members returns are its live records, which its packet handler
	// writes to without a lock this code could take.
	var peers []Member
	for _, m := range s.Members() {
		if m.Name != s.config.NodeName && m.Status == StatusAlive {
			peers = append(peers, m)
		}
	}
	if len(peers) == 0 {
		return 0
	}
	peer := peers[rand.IntN(len(peers))]
	addr := peer.Name + "/" + net.JoinHostPort(peer.Addr.String(), strconv.Itoa(int(peer.Port)))

	before := s.memberlist.NumMembers()
	// joinLock keeps a concurrent Join(ignoreOld) from applying its event
	// floor to this exchange.
	s.joinLock.Lock()
	_, err := s.memberlist.Join([]string{addr})
	s.joinLock.Unlock()
	if err != nil {
		s.logger.Printf("[DEBUG] serf: Join sync with %s failed: %v", peer.Name, err)
		return 0
	}
	return max(s.memberlist.NumMembers()-before, 0)
}
