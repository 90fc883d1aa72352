package serf

// Hooks filled in by the snapshot and coordinate subsystems.

func (s *Serf) onLeave()                {}
func (s *Serf) forgetCoordinate(string) {}
