package serf

import "github.com/hashicorp/memberlist"

// conflictDelegate hears from memberlist when two nodes claim one name.
type conflictDelegate struct {
	serf *Serf
}

var _ memberlist.ConflictDelegate = (*conflictDelegate)(nil)

func (c *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	c.serf.handleNodeConflict(existing, other)
}

// handleNodeConflict logs a name conflict; when our own name is claimed
// and resolution is enabled, it asks the cluster who keeps the name.
func (s *Serf) handleNodeConflict(existing, other *memberlist.Node) {
	if existing.Name != s.config.NodeName {
		s.logger.Printf("[WARN] serf: Name conflict for '%s' both %s:%d and %s:%d are claiming",
			existing.Name, existing.Addr, existing.Port, other.Addr, other.Port)
		return
	}
	s.logger.Printf("[ERR] serf: Node name conflicts with another node at %s:%d. Names must be unique! (Resolution enabled: %v)",
		other.Addr, other.Port, s.config.EnableNameConflictResolution)
	if s.config.EnableNameConflictResolution {
		s.goFunc(s.resolveNodeConflict)
	}
}
