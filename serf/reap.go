package serf

import (
	"math/rand/v2"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// reapLoop periodically erases failed members past ReconnectTimeout, left
// members past TombstoneTimeout, and stale buffered intents.
func (s *Serf) reapLoop() {
	s.every(s.config.ReapInterval, func() {
		now := time.Now()
		s.memberLock.Lock()
		defer s.memberLock.Unlock()
		s.failedMembers = s.reap(s.failedMembers, now, s.config.ReconnectTimeout)
		s.leftMembers = s.reap(s.leftMembers, now, s.config.TombstoneTimeout)
		reapIntents(s.recentIntents, now, s.config.RecentIntentTimeout)
	})
}

// every calls f once an interval until shutdown; the periodic goroutines
// (started with goFunc) run in it.
func (s *Serf) every(interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-s.shutdownCh:
			return
		}
	}
}

// reap erases the members of list that have been gone longer than timeout
// and returns what is left of list. Must hold memberLock.
func (s *Serf) reap(list []*memberState, now time.Time, timeout time.Duration) []*memberState {
	kept := list[:0]
	for _, m := range list {
		limit := timeout
		if s.config.ReconnectTimeoutOverride != nil {
			limit = s.config.ReconnectTimeoutOverride.ReconnectTimeout(&m.Member, limit)
		}
		if now.Sub(m.leaveTime) <= limit {
			kept = append(kept, m)
			continue
		}
		s.logger.Printf("[INFO] serf: EventMemberReap: %s", m.Name)
		if m.Status == StatusFailed {
			s.addHealPeer(m.Name, memberAddr(&m.Member), now)
		}
		s.eraseNode(m)
	}
	for i := len(kept); i < len(list); i++ {
		list[i] = nil
	}
	return kept
}

// reconnectLoop tries a failed member again every ReconnectInterval.
func (s *Serf) reconnectLoop() {
	s.every(s.config.ReconnectInterval, s.reconnect)
}

// reconnect picks a random failed member and asks memberlist to join it.
// It is throttled so that the cluster as a whole tries each failed member
// about once per interval: the chance is failed / (members - failed - left).
func (s *Serf) reconnect() {
	s.memberLock.RLock()
	failed := len(s.failedMembers)
	if failed == 0 {
		s.memberLock.RUnlock()
		return
	}
	alive := len(s.members) - failed - len(s.leftMembers)
	if alive < 1 {
		alive = 1
	}
	if rand.Float32() > float32(failed)/float32(alive) {
		s.memberLock.RUnlock()
		s.logger.Printf("[DEBUG] serf: forgoing reconnect for random throttling")
		return
	}
	m := s.failedMembers[rand.IntN(failed)]
	addr := (&net.UDPAddr{IP: m.Addr, Port: int(m.Port)}).String()
	name := m.Name
	s.memberLock.RUnlock()

	s.logger.Printf("[INFO] serf: attempting reconnect to %v %s", name, addr)
	target := addr
	if name != "" {
		target = name + "/" + addr
	}
	// Only memberlist joins: a reconnect sends no join intent.
	_, _ = s.memberlist.Join([]string{target})
}

// queueLimit is the depth past which a broadcast queue is pruned.
func (s *Serf) queueLimit() int {
	if s.config.MinQueueDepth <= 0 {
		return s.config.MaxQueueDepth
	}
	limit := 2 * s.numMembers()
	if limit < s.config.MinQueueDepth {
		limit = s.config.MinQueueDepth
	}
	return limit
}

// checkQueueDepth samples a broadcast queue, warns when it is deep and
// drops its oldest messages past the limit.
func (s *Serf) checkQueueDepth(name string, q *memberlist.TransmitLimitedQueue) {
	s.every(s.config.QueueCheckInterval, func() {
		n := q.NumQueued()
		s.metrics.AddSampleWithLabels([]string{"serf", "queue", name}, float32(n), s.labels)
		if n >= s.config.QueueDepthWarning {
			s.logger.Printf("[WARN] serf: %s queue depth: %d", name, n)
		}
		if limit := s.queueLimit(); n > limit {
			s.logger.Printf("[WARN] serf: %s queue depth (%d) exceeds limit (%d), dropping messages!", name, n, limit)
			q.Prune(limit)
		}
	})
}
