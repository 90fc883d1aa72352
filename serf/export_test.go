package serf

// JoinSyncRunning reports whether a join sync is under way (tests only).
func (s *Serf) JoinSyncRunning() bool { return s.joinSyncRunning.Load() }
