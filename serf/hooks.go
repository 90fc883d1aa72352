package serf

// Hooks filled in by the query, snapshot and coordinate subsystems.

func (s *Serf) onLeave()                                  {}
func (s *Serf) forgetCoordinate(string)                   {}
func (s *Serf) resolveNodeConflict()                      {}
func (s *Serf) handleQuery(*messageQuery) bool            { return false }
func (s *Serf) handleQueryResponse(*messageQueryResponse) {}
