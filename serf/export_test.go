package serf

import (
	"sort"
	"sync"
	"testing"
)

// JoinSyncRunning reports whether a join sync is under way (tests only).
func (s *Serf) JoinSyncRunning() bool { return s.joinSyncRunning.Load() }

// SkipQueryGossip keeps this node's own queries out of gossip, so only
// redelivery can carry them (tests only).
func (s *Serf) SkipQueryGossip() { s.skipQueryGossip.Store(true) }

// StallOnLeaveIntent makes the node built from c stop in its memberlist
// packet handler, which hands it gossip, at the first leave intent it is
// given: it closes stalled, waits for release to be closed and drops that
// copy. Gossip arriving meanwhile queues up, as behind a handler slowed
// down by a busy machine (tests only).
func StallOnLeaveIntent(c *Config, stalled chan<- struct{}, release <-chan struct{}) {
	var once sync.Once
	c.messageDropper = func(t messageType) bool {
		if t != messageLeaveType {
			return false
		}
		drop := false
		once.Do(func() {
			close(stalled)
			<-release
			drop = true
		})
		return drop
	}
}

// HealPeers lists the names on the heal list, sorted (tests only).
func (s *Serf) HealPeers() []string {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	names := make([]string, 0, len(s.heal.peers))
	for name := range s.heal.peers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// StallOnUserEvent makes the node built from c stop in its memberlist
// packet handler at the first user event it is given, as StallOnLeaveIntent
// does at a leave intent (tests only).
func StallOnUserEvent(c *Config, stalled chan<- struct{}, release <-chan struct{}) {
	var once sync.Once
	c.messageDropper = func(t messageType) bool {
		if t != messageUserEventType {
			return false
		}
		once.Do(func() {
			close(stalled)
			<-release
		})
		return false
	}
}

// AccusationMessage is memberlist's suspect message about node, raised by
// from (tests only).
func AccusationMessage(tb testing.TB, inc uint32, node, from string) []byte {
	return accusationMsg(tb, mlSuspectMsg, inc, node, from)
}

// NoEarlyRefutation leaves the refutations of the node built from c to
// memberlist alone (tests only).
func NoEarlyRefutation(c *Config) { c.noEarlyRefute = true }

// Compound is memberlist's compound message of msgs (tests only).
func Compound(msgs ...[]byte) []byte { return compound(msgs...) }

// RepeatsForgotten counts the times the transport forgot the gossip it
// had handed on because memberlist's queue dropped a message (tests
// only).
func (s *Serf) RepeatsForgotten() uint64 {
	if s.repeats == nil {
		return 0
	}
	return s.repeats.forgets.Load()
}

// UserEventMessage is memberlist's user message holding Serf's user event
// name at ltime (tests only).
func UserEventMessage(tb testing.TB, ltime uint64, name string) []byte {
	tb.Helper()
	b, err := encodeMessage(messageUserEventType, &messageUserEvent{LTime: LamportTime(ltime), Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	return append([]byte{mlUserMsg}, b...)
}

// AliveMessage is memberlist's alive message about node at 127.0.0.2 and
// port, with incarnation inc, from a Serf of protocol 4 (tests only).
func AliveMessage(tb testing.TB, inc uint32, node string, port uint16) []byte {
	tb.Helper()
	return aliveMsgAt(tb, inc, node, port, []uint8{1, 5, 5, 2, 5, 4})
}
