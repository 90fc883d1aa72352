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

// resolveNodeConflict asks the cluster, through the _serf_conflict query,
// which address it knows for our name. If no majority of the answers names
// this node's address, this node shuts down (as Serf does; with no answers
// at all that is the case too).
func (s *Serf) resolveNodeConflict() {
	local := s.LocalMember()
	resp, err := s.Query(InternalQueryPrefix+conflictQuery, []byte(s.config.NodeName), nil)
	if err != nil {
		s.logger.Printf("[ERR] serf: Failed to start name resolution query: %v", err)
		return
	}

	var responses, matching int
	for r := range resp.ResponseCh() {
		if len(r.Payload) < 1 || messageType(r.Payload[0]) != messageConflictResponseType {
			s.logger.Printf("[ERR] serf: Invalid conflict query response type: %v", r.Payload)
			continue
		}
		var m Member
		if err := decodeMessage(r.Payload[1:], &m); err != nil {
			s.logger.Printf("[ERR] serf: Failed to decode conflict query response: %v", err)
			continue
		}
		responses++
		if m.Addr.Equal(local.Addr) && m.Port == local.Port {
			matching++
		}
	}

	majority := responses/2 + 1
	if matching >= majority {
		s.logger.Printf("[INFO] serf: majority in name conflict resolution [%d / %d]", matching, responses)
		return
	}
	s.logger.Printf("[WARN] serf: minority in name conflict resolution, quiting [%d / %d]", matching, responses)
	// Shutdown waits for this goroutine; run it from one it does not own.
	go func() {
		if err := s.Shutdown(); err != nil {
			s.logger.Printf("[ERR] serf: Failed to shutdown: %v", err)
		}
	}()
}
