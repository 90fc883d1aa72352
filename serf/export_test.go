package serf

// JoinSyncRunning reports whether a join sync is under way (tests only).
func (s *Serf) JoinSyncRunning() bool { return s.joinSyncRunning.Load() }

// SkipQueryGossip keeps this node's own queries out of gossip, so only
// redelivery can carry them (tests only).
func (s *Serf) SkipQueryGossip() { s.skipQueryGossip.Store(true) }
