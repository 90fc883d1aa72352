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
