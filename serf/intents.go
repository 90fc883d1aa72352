package serf

import (
	"math/rand/v2"
	"strings"
	"time"
)

// handleNodeJoinIntent applies a join intent and reports whether to
// gossip it on.
func (s *Serf) handleNodeJoinIntent(msg *messageJoin) bool {
	s.memberLock.Lock()
	defer s.memberLock.Unlock()
	m, fresh := s.newerIntent(msg.Node, messageJoinType, msg.LTime)
	if m == nil {
		return fresh
	}
	m.statusLTime = msg.LTime
	// A newer join refutes an older leave.
	if m.Status == StatusLeaving {
		m.Status = StatusAlive
	}
	return true
}

// handleNodeLeaveIntent applies a leave intent (broadcast, local, forced or
// implied by a push/pull) and reports whether to gossip it on.
func (s *Serf) handleNodeLeaveIntent(msg *messageLeave) bool {
	state := s.State()
	s.memberLock.Lock()
	defer s.memberLock.Unlock()
	m, fresh := s.newerIntent(msg.Node, messageLeaveType, msg.LTime)
	if m == nil {
		if fresh {
			// A lost peer left, or was forced out: do not heal with it.
			s.forgetHealPeer(msg.Node)
		}
		return fresh
	}

	// Someone says we are leaving while we are not: refute it with a newer
	// join intent. That takes memberLock, hence the goroutine.
	if msg.Node == s.config.NodeName && state == SerfAlive {
		s.logger.Printf("[DEBUG] serf: Refuting an older leave intent")
		ltime := s.clock.Time()
		s.goFunc(func() { _ = s.broadcastJoin(ltime) })
		return false
	}

	// Record the time even when the status stays, or two nodes that both
	// see a repeated leave would gossip it to each other forever.
	m.statusLTime = msg.LTime

	switch m.Status {
	case StatusAlive:
		m.Status = StatusLeaving
	case StatusFailed:
		m.Status = StatusLeft
		s.failedMembers = removeMember(s.failedMembers, m.Name)
		s.leftMembers = append(s.leftMembers, m)
		s.logger.Printf("[INFO] serf: EventMemberLeave (forced): %s %s", m.Name, m.Addr)
		s.deliver(MemberEvent{Type: EventMemberLeave, Members: []Member{m.Member}})
	case StatusLeaving, StatusLeft:
	default:
		return false
	}
	if msg.Prune {
		s.prune(m)
	}
	return true
}

// newerIntent witnesses the clock of an intent of type t about node and
// returns the member it applies to: one whose status time is older than
// ltime. It returns nil when there is none, with fresh saying whether to
// gossip the intent on all the same: an intent about a node memberlist
// has not reported yet is kept for when it does, and is fresh unless a
// newer one is kept already. Must hold memberLock.
func (s *Serf) newerIntent(node string, t messageType, ltime LamportTime) (m *memberState, fresh bool) {
	s.clock.Witness(ltime)
	m, ok := s.members[node]
	if !ok {
		return nil, upsertIntent(s.recentIntents, node, t, ltime, time.Now())
	}
	if ltime <= m.statusLTime {
		return nil, false
	}
	return m, true
}

// prune erases a member forced out with -prune. A member still leaving is
// given BroadcastTimeout+LeavePropagateDelay to finish first. Must hold
// memberLock; the wait and the erase happen in a goroutine, so the
// member is looked up again there.
func (s *Serf) prune(m *memberState) {
	name, addr, status := m.Name, m.Addr, m.Status
	s.goFunc(func() {
		if status == StatusLeaving && !s.sleep(s.config.BroadcastTimeout+s.config.LeavePropagateDelay) {
			return
		}
		s.logger.Printf("[INFO] serf: EventMemberReap (forced): %s %s", name, addr)
		s.memberLock.Lock()
		defer s.memberLock.Unlock()
		cur, ok := s.members[name]
		if !ok {
			return
		}
		if cur.Status == StatusLeaving || cur.Status == StatusLeft {
			s.leftMembers = removeMember(s.leftMembers, name)
		}
		s.failedMembers = removeMember(s.failedMembers, name)
		s.eraseNode(cur)
	})
}

// Join contacts the given addresses ("host", "host:port" or
// "name/host:port") and returns how many answered; the error is nil when
// at least one did. With ignoreOld, user events sent before the join are
// not delivered.
func (s *Serf) Join(existing []string, ignoreOld bool) (int, error) {
	if s.State() != SerfAlive {
		return 0, ErrJoinAfterLeave
	}
	s.joinLock.Lock()
	defer s.joinLock.Unlock()

	if ignoreOld {
		s.eventJoinIgnore.Store(true)
		defer s.eventJoinIgnore.Store(false)
	}

	n, err := s.joinRetrying(existing)
	if n > 0 {
		s.startJoinSync()
		if berr := s.broadcastJoin(s.clock.Time()); berr != nil {
			return n, berr
		}
	}
	return n, err
}

// A member answering many joins at once hangs up on those beyond its limit
// of concurrent state exchanges (memberlist allows 127), and the joiner
// reads EOF. When every address hung up this way, Join tries them again
// after a jittered pause that doubles each time, so a crowd started
// together (a fleet of agents, a rolling deploy) spreads out and joins
// instead of failing. Refused connections, time-outs and other errors are
// not retried: there the peer is down or unreachable.
const (
	joinRetries   = 4
	joinRetryBase = 100 * time.Millisecond
)

// joinRetrying is memberlist's Join with the retries described above.
func (s *Serf) joinRetrying(existing []string) (int, error) {
	delay := joinRetryBase
	for attempt := 0; ; attempt++ {
		n, err := s.memberlist.Join(existing)
		if n > 0 || err == nil || attempt == joinRetries || !allHungUp(err) {
			return n, err
		}
		pause := delay + rand.N(delay)
		s.logger.Printf("[DEBUG] serf: Join hung up (%v), trying again in %v", err, pause)
		if !s.sleep(pause) {
			return n, err
		}
		delay *= 2
	}
}

// allHungUp reports whether err, as returned by memberlist's Join (one
// error, or a multierror of one per address), says only that the peers
// closed the connection during the exchange.
func allHungUp(err error) bool {
	errs := []error{err}
	if w, ok := err.(interface{ WrappedErrors() []error }); ok {
		errs = w.WrappedErrors()
	}
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		msg := e.Error()
		if !strings.HasSuffix(msg, ": EOF") &&
			!strings.Contains(msg, "connection reset by peer") &&
			!strings.Contains(msg, "broken pipe") {
			return false
		}
	}
	return true
}

// broadcastJoin stamps, applies and gossips a join intent for this node.
// It takes memberLock, so it must not be called with it held.
func (s *Serf) broadcastJoin(ltime LamportTime) error {
	msg := messageJoin{LTime: ltime, Node: s.config.NodeName}
	s.clock.Witness(ltime)
	s.handleNodeJoinIntent(&msg)
	if err := s.broadcast(messageJoinType, &msg, nil); err != nil {
		s.logger.Printf("[WARN] serf: Failed to broadcast join intent: %v", err)
		return err
	}
	return nil
}

// Leave announces a graceful departure and leaves memberlist. Peers see
// the node as left, not failed. It can be called more than once, and from
// another goroutine than Shutdown: a Shutdown under way cuts the leave
// short, and Leave then returns nil.
func (s *Serf) Leave() error {
	s.stateLock.Lock()
	switch s.state {
	case SerfLeft:
		s.stateLock.Unlock()
		return nil
	case SerfLeaving:
		s.stateLock.Unlock()
		return ErrLeaveInProgress
	case SerfShutdown:
		s.stateLock.Unlock()
		return ErrLeaveAfterShutdown
	}
	s.state = SerfLeaving
	s.stateLock.Unlock()

	s.onLeave()

	msg := messageLeave{LTime: s.clock.Time(), Node: s.config.NodeName}
	s.clock.Increment()
	s.handleNodeLeaveIntent(&msg)
	raw, err := encodeMessage(messageLeaveType, &msg)
	if err != nil {
		return err
	}

	if s.hasAliveMembers() {
		notify := make(chan struct{})
		s.broadcasts.QueueBroadcast(&broadcast{msg: raw, notify: notify})
		t := time.NewTimer(s.config.BroadcastTimeout)
		select {
		case <-notify:
		case <-t.C:
			s.logger.Printf("[WARN] serf: timeout while waiting for graceful leave")
		case <-s.shutdownCh:
		}
		t.Stop()
	}

	// memberlist's Leave gossips a dead message about this node; a peer
	// that handles it before the intent, while we are alive in its view,
	// declares us failed, and the intent then makes that a leave: every
	// member-failed handler has run for a graceful leave. The intent went
	// out first, but memberlist hands the gossip it has queued to its
	// handler newest first, so a peer whose handler is behind (a busy
	// machine) takes the dead message before the intents queued ahead of
	// it. From here on the intent therefore rides in every packet, after
	// memberlist's own messages, where that order puts it first. It
	// stays in for the rest of the node's life: memberlist may still be
	// filling the packet with the last copy of its dead message when its
	// Leave returns, and a few bytes a packet cost nothing. Peers drop the
	// copies they do not need as duplicates.
	s.leaveIntent.Store(&raw)
	// A Shutdown during the broadcast ends the leave here: memberlist
	// would panic on a Leave after its Shutdown.
	s.leaveLock.Lock()
	if s.State() == SerfShutdown {
		s.leaveLock.Unlock()
		return nil
	}
	err = s.memberlist.Leave(s.config.BroadcastTimeout)
	s.leaveLock.Unlock()
	if err != nil {
		s.logger.Printf("[WARN] serf: timeout waiting for leave broadcast: %s", err)
	}

	// Stay up a little so peers probing us hear of the leave instead of
	// declaring us failed.
	s.sleep(s.config.LeavePropagateDelay)

	s.stateLock.Lock()
	if s.state != SerfShutdown {
		s.state = SerfLeft
	}
	s.stateLock.Unlock()
	return nil
}

// RemoveFailedNode forces a member into the left state (serf force-leave),
// so it is no longer reconnected to and is reaped after TombstoneTimeout.
func (s *Serf) RemoveFailedNode(node string) error {
	return s.forceLeave(node, false)
}

// RemoveFailedNodePrune forces a member out and erases it at once.
func (s *Serf) RemoveFailedNodePrune(node string) error {
	return s.forceLeave(node, true)
}

func (s *Serf) forceLeave(node string, prune bool) error {
	msg := messageLeave{LTime: s.clock.Time(), Node: node, Prune: prune}
	s.clock.Increment()
	s.handleNodeLeaveIntent(&msg)

	if !s.hasAliveMembers() {
		return nil
	}
	notify := make(chan struct{})
	if err := s.broadcast(messageLeaveType, &msg, notify); err != nil {
		return err
	}
	t := time.NewTimer(s.config.BroadcastTimeout)
	defer t.Stop()
	select {
	case <-notify:
		return nil
	case <-t.C:
		return ErrForceLeaveTimeout
	case <-s.shutdownCh:
		return ErrForceLeaveTimeout
	}
}

// nodeIntent is a join or leave intent for a node memberlist has not told
// us about yet.
type nodeIntent struct {
	Type     messageType // messageJoinType or messageLeaveType
	WallTime time.Time   // when it was stored, for expiry
	LTime    LamportTime
}

// upsertIntent stores an intent unless a newer one is already stored and
// reports whether it changed anything (which decides rebroadcast). Must
// hold memberLock.
func upsertIntent(intents map[string]nodeIntent, node string, t messageType, ltime LamportTime, now time.Time) bool {
	if old, ok := intents[node]; ok && ltime <= old.LTime {
		return false
	}
	intents[node] = nodeIntent{Type: t, WallTime: now, LTime: ltime}
	return true
}

// recentIntent returns the stored intent time for a node if the stored
// intent is of type t. Must hold memberLock.
func recentIntent(intents map[string]nodeIntent, node string, t messageType) (LamportTime, bool) {
	if in, ok := intents[node]; ok && in.Type == t {
		return in.LTime, true
	}
	return 0, false
}

// reapIntents forgets intents stored longer than timeout ago. Must hold
// memberLock.
func reapIntents(intents map[string]nodeIntent, now time.Time, timeout time.Duration) {
	for node, in := range intents {
		if now.Sub(in.WallTime) > timeout {
			delete(intents, node)
		}
	}
}
