package serf

import (
	"math/rand/v2"
	"net"
	"time"
)

// Healing (Config.HealInterval) reaches peers this node no longer knows.
// Serf's reconnect loop tries a failed member only until it is reaped at
// ReconnectTimeout; two halves of a cluster cut apart for longer reap each
// other and never meet again, and neither does a node restarted after the
// whole cluster was down for that long. The heal list remembers such peers
// (name and last address) and the heal loop keeps joining them, through
// memberlist only, with a backoff per peer.
//
// The list holds only peers that are not members: a failed member that is
// reaped is added, and a peer is dropped as soon as it is a member again
// (in any status: failed ones are the reconnect loop's), when a leave
// intent names it (it left, or an operator force-left it), when a join to
// it succeeds, or when the list is full and it was lost longest ago.
// Members that left gracefully are never added. With a snapshot the list
// survives restarts: the snapshot already keeps the address of every peer
// last seen alive or failed, reaped or not (snapshot.go), and Create seeds
// the list from it.

// healPeer is one entry of the heal list.
type healPeer struct {
	name string
	addr string // ip:port
	// lost is when the peer was added; the oldest is evicted first.
	lost time.Time
	// attempts counts the joins that failed (or were forgone); it sets
	// the backoff.
	attempts int
	// next is when the peer is due to be tried.
	next time.Time
}

// healList is the bounded heal list. Guarded by Serf.memberLock.
type healList struct {
	peers map[string]*healPeer
}

// healDelay is the wait after attempts failed joins: HealInterval doubled
// per attempt, at most HealMaxInterval, times a random factor within
// HealJitter of 1.
func (c *Config) healDelay(attempts int) time.Duration {
	d := c.HealInterval
	for i := 0; i < attempts && d < c.HealMaxInterval; i++ {
		d *= 2
	}
	d = min(d, c.HealMaxInterval)
	if c.HealJitter > 0 {
		d = time.Duration(float64(d) * (1 + c.HealJitter*(2*rand.Float64()-1)))
	}
	return d
}

// healing reports whether the heal loop runs.
func (s *Serf) healing() bool { return s.config.HealInterval > 0 }

// addHealPeer puts a lost peer on the heal list, first tried one
// healDelay from now; a full list drops the peer lost longest ago. Must
// hold memberLock.
func (s *Serf) addHealPeer(name, addr string, now time.Time) {
	if !s.healing() || name == s.config.NodeName || addr == "" {
		return
	}
	if s.heal.peers == nil {
		s.heal.peers = make(map[string]*healPeer)
	}
	if _, ok := s.heal.peers[name]; !ok && len(s.heal.peers) >= s.config.HealMaxPeers {
		var oldest *healPeer
		for _, p := range s.heal.peers {
			if oldest == nil || p.lost.Before(oldest.lost) {
				oldest = p
			}
		}
		delete(s.heal.peers, oldest.name)
	}
	s.heal.peers[name] = &healPeer{name: name, addr: addr, lost: now, next: now.Add(s.config.healDelay(0))}
}

// forgetHealPeer drops a peer from the heal list. Must hold memberLock.
func (s *Serf) forgetHealPeer(name string) {
	delete(s.heal.peers, name)
}

// memberAddr is a member's address as ip:port.
func memberAddr(m *Member) string {
	return (&net.TCPAddr{IP: m.Addr, Port: int(m.Port)}).String()
}

// seedHealList puts the peers remembered in the snapshot on the heal list,
// at most HealMaxPeers of them, those last seen alive first. Create calls
// it before memberlist starts.
func (s *Serf) seedHealList(previous []PreviousNode) {
	if !s.healing() {
		return
	}
	now := time.Now()
	s.memberLock.Lock()
	defer s.memberLock.Unlock()
	for _, p := range previous {
		// Stop when full rather than let later peers evict earlier ones.
		if len(s.heal.peers) >= s.config.HealMaxPeers {
			return
		}
		s.addHealPeer(p.Name, p.Addr, now)
	}
}

// healLoop tries the peer on the heal list that is most overdue, then
// sleeps until the next one is due, or HealInterval when the list is
// empty.
func (s *Serf) healLoop() {
	t := time.NewTimer(s.config.HealInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.shutdownCh:
			return
		}
		s.healOne(time.Now())
		t.Reset(s.nextHeal(time.Now()))
	}
}

// nextHeal is how long to wait until the next peer on the list is due.
func (s *Serf) nextHeal(now time.Time) time.Duration {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	wait := s.config.HealInterval
	for _, p := range s.heal.peers {
		wait = min(wait, p.next.Sub(now))
	}
	return max(wait, 0)
}

// healTries is how many attempts per lost peer and backoff step the
// live members of one side make together (healOne's throttle). One join
// that gets through is enough to merge two halves, so a few suffice
// however large the side is.
const healTries = 3

// healOne joins the most overdue peer of the heal list, if any is due.
// Like the reconnect loop it is throttled so that the nodes of one side
// do not all try every peer: a node tries a due peer with a chance of
// healTries / live members, so that the side as a whole makes about
// healTries attempts per peer and step. A forgone or failed attempt backs
// the peer off.
func (s *Serf) healOne(now time.Time) {
	name, addr, ok := s.dueHealPeer(now)
	if !ok || s.State() != SerfAlive {
		return
	}
	s.logger.Printf("[DEBUG] serf: Attempting to heal with lost peer %s %s", name, addr)
	// Only memberlist joins, as a reconnect: no join intent is sent.
	_, err := s.memberlist.Join([]string{name + "/" + addr})
	if err == nil {
		// Whatever lives at the address answered and merged its state
		// with ours; the peer, if it is there, is a member again and
		// already off the list.
		s.logger.Printf("[INFO] serf: Healed with lost peer %s %s", name, addr)
		s.metrics.IncrCounterWithLabels([]string{"serf", "heal", "joined"}, 1, s.labels)
	} else {
		s.logger.Printf("[DEBUG] serf: Failed to heal with lost peer %s %s: %v", name, addr, err)
		s.metrics.IncrCounterWithLabels([]string{"serf", "heal", "failed"}, 1, s.labels)
	}

	s.memberLock.Lock()
	defer s.memberLock.Unlock()
	p, ok := s.heal.peers[name]
	if !ok || p.addr != addr {
		// Dropped or re-added while we tried.
		return
	}
	if err == nil {
		delete(s.heal.peers, name)
		return
	}
	p.attempts++
	p.next = time.Now().Add(s.config.healDelay(p.attempts))
}

// dueHealPeer picks the most overdue peer of the heal list and applies
// the throttle; it reports false when there is nothing to try now. On the
// way it drops peers that are members again.
func (s *Serf) dueHealPeer(now time.Time) (name, addr string, ok bool) {
	s.memberLock.Lock()
	defer s.memberLock.Unlock()
	var due *healPeer
	for name, p := range s.heal.peers {
		if _, known := s.members[name]; known {
			delete(s.heal.peers, name)
			continue
		}
		if !p.next.After(now) && (due == nil || p.next.Before(due.next)) {
			due = p
		}
	}
	if due == nil {
		return "", "", false
	}
	alive := max(len(s.members)-len(s.failedMembers)-len(s.leftMembers), 1)
	if rand.Float32() > float32(healTries)/float32(alive) {
		due.attempts++
		due.next = now.Add(s.config.healDelay(due.attempts))
		return "", "", false
	}
	return due.name, due.addr, true
}
