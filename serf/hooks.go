package serf

// Hooks filled in by the snapshot subsystem.

func (s *Serf) onLeave() {}
