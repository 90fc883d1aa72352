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

const (
	// joinSyncQuietGossips is the quiet period in gossip intervals:
	// 5 × 200ms on a LAN, long enough for a gossip epidemic to finish.
	joinSyncQuietGossips = 5
	// joinSyncMaxDelay caps, in quiet periods, how far a stream of new
	// members can postpone a round.
	joinSyncMaxDelay = 4
	// joinSyncMaxRounds bounds the push/pulls one join can cause.
	joinSyncMaxRounds = 8
	// joinSyncIdleRounds rounds in a row that learn nothing end the sync.
	joinSyncIdleRounds = 2
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

	wait := quiet
	deadline := time.Now().Add(joinSyncMaxDelay * wait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	idle := 0
	for round := 0; round < joinSyncMaxRounds; {
		select {
		case <-s.newMemberCh:
			// Still learning by gossip: wait for quiet, within bounds.
			idle = 0
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
		round++
		if s.pushPullRandom() {
			idle = 0
			wait = quiet
		} else {
			idle++
			if idle >= joinSyncIdleRounds {
				return
			}
			wait *= 2
		}
		deadline = time.Now().Add(joinSyncMaxDelay * wait)
		timer.Reset(wait)
	}
}

// pushPullRandom exchanges state with one random live member other than
// this node and reports whether it learned of a member it did not know.
func (s *Serf) pushPullRandom() bool {
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
		return false
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
		return false
	}
	return s.memberlist.NumMembers() > before
}
