package serf

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

func errBadIPLength(n int) error {
	return fmt.Errorf("IP byte length is invalid: %d bytes is not either 4 or 16", n)
}

// memberFromNode builds a member from memberlist's view of a node, with
// its tags decoded and protocol versions copied. Status is left to the
// caller.
func (s *Serf) memberFromNode(n *memberlist.Node) Member {
	tags, err := decodeTags(n.Meta)
	if err != nil {
		s.logger.Printf("[ERR] serf: Failed to decode tags: %v", err)
	}
	return Member{
		Name:        n.Name,
		Addr:        append([]byte(nil), n.Addr...),
		Port:        n.Port,
		Tags:        tags,
		ProtocolMin: n.PMin,
		ProtocolMax: n.PMax,
		ProtocolCur: n.PCur,
		DelegateMin: n.DMin,
		DelegateMax: n.DMax,
		DelegateCur: n.DCur,
	}
}

// handleNodeJoin runs when memberlist sees a node come alive.
func (s *Serf) handleNodeJoin(n *memberlist.Node) {
	if s.config.messageDropper != nil && s.config.messageDropper(messageJoinType) {
		return
	}
	fresh := s.memberFromNode(n)

	s.memberLock.Lock()
	defer s.memberLock.Unlock()

	m, known := s.members[n.Name]
	oldStatus := StatusNone
	if !known {
		m = &memberState{Member: fresh}
		m.Status = StatusAlive
		// An intent may have arrived before memberlist told us about the
		// node; only the newest one is kept.
		if lt, ok := recentIntent(s.recentIntents, n.Name, messageJoinType); ok {
			m.statusLTime = lt
		}
		if lt, ok := recentIntent(s.recentIntents, n.Name, messageLeaveType); ok {
			m.Status = StatusLeaving
			m.statusLTime = lt
		}
		s.members[n.Name] = m
	} else {
		oldStatus = m.Status
		if oldStatus == StatusFailed && time.Since(m.leaveTime) < s.config.FlapTimeout {
			s.metrics.IncrCounterWithLabels([]string{"serf", "member", "flap"}, 1, s.labels)
		}
		m.Member = fresh
		m.Status = StatusAlive
		m.leaveTime = time.Time{}
	}

	if oldStatus == StatusFailed || oldStatus == StatusLeft {
		s.failedMembers = removeMember(s.failedMembers, n.Name)
		s.leftMembers = removeMember(s.leftMembers, n.Name)
	}
	s.forgetHealPeer(n.Name)
	s.selfLeaves.forget(n.Name)

	s.noteNewMember()
	s.metrics.IncrCounterWithLabels([]string{"serf", "member", "join"}, 1, s.labels)
	s.logger.Printf("[INFO] serf: EventMemberJoin: %s %s", m.Name, m.Addr)
	s.deliver(MemberEvent{Type: EventMemberJoin, Members: []Member{m.Member}})
}

// handleNodeLeave runs when memberlist declares a node dead or left. Serf
// tells a graceful leave from a failure by its own leave intent, and ours
// also by the node's own dead message when the intent is late
// (selfleave.go).
func (s *Serf) handleNodeLeave(n *memberlist.Node) {
	s.memberLock.Lock()
	defer s.memberLock.Unlock()

	m, ok := s.members[n.Name]
	if !ok {
		return
	}
	var et EventType
	var label string
	switch m.Status {
	case StatusLeaving:
		s.selfLeaves.forget(n.Name)
		m.Status = StatusLeft
		m.leaveTime = time.Now()
		s.leftMembers = append(s.leftMembers, m)
		et, label = EventMemberLeave, "EventMemberLeave"
	case StatusAlive:
		m.leaveTime = time.Now()
		if s.selfLeaves.take(n.Name, m.leaveTime) {
			// It announced its own leave; its intent has not come yet
			// (selfleave.go).
			m.Status = StatusLeft
			s.leftMembers = append(s.leftMembers, m)
			et, label = EventMemberLeave, "EventMemberLeave"
			break
		}
		m.Status = StatusFailed
		s.failedMembers = append(s.failedMembers, m)
		et, label = EventMemberFailed, "EventMemberFailed"
	default:
		s.logger.Printf("[WARN] serf: Bad state when leave: %d", m.Status)
		return
	}
	s.metrics.IncrCounterWithLabels([]string{"serf", "member", m.Status.String()}, 1, s.labels)
	s.logger.Printf("[INFO] serf: %s: %s %s", label, m.Name, m.Addr)
	s.deliver(MemberEvent{Type: et, Members: []Member{m.Member}})
}

// handleNodeUpdate runs when a node's metadata or address changes.
func (s *Serf) handleNodeUpdate(n *memberlist.Node) {
	fresh := s.memberFromNode(n)

	s.memberLock.Lock()
	defer s.memberLock.Unlock()

	m, ok := s.members[n.Name]
	if !ok {
		return
	}
	status := m.Status
	m.Member = fresh
	m.Status = status

	s.metrics.IncrCounterWithLabels([]string{"serf", "member", "update"}, 1, s.labels)
	s.logger.Printf("[INFO] serf: EventMemberUpdate: %s", m.Name)
	s.deliver(MemberEvent{Type: EventMemberUpdate, Members: []Member{m.Member}})
}

// eraseNode forgets a member completely and emits member-reap. Must hold
// memberLock; the caller removes it from the failed/left lists.
func (s *Serf) eraseNode(m *memberState) {
	delete(s.members, m.Name)
	s.forgetCoordinate(m.Name)
	s.deliver(MemberEvent{Type: EventMemberReap, Members: []Member{m.Member}})
}
