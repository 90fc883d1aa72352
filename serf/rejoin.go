package serf

import "time"

// rejoin joins the peers remembered in the snapshot, through memberlist
// only (no join intent, as in Serf). If none answers it keeps trying
// every ReconnectInterval, for up to ReconnectTimeout, until one does or
// another node joins us: after a whole-cluster restart the first node up
// finds nobody, and is found by the others later.
func (s *Serf) rejoin(previous []PreviousNode) {
	deadline := time.Now().Add(s.config.ReconnectTimeout)
	for attempt := 0; ; attempt++ {
		for _, p := range previous {
			if p.Name == s.config.NodeName {
				continue
			}
			if s.State() != SerfAlive {
				return
			}
			addr := p.Addr
			if p.Name != "" {
				addr = p.Name + "/" + p.Addr
			}
			if attempt == 0 {
				s.logger.Printf("[INFO] serf: Attempting re-join to previously known node: %s", p)
			} else {
				s.logger.Printf("[DEBUG] serf: Attempting re-join to previously known node: %s", p)
			}
			if _, err := s.memberlist.Join([]string{addr}); err == nil {
				s.logger.Printf("[INFO] serf: Re-joined to previously known node: %s", p)
				s.startJoinSync()
				return
			}
		}
		if attempt == 0 {
			s.logger.Printf("[WARN] serf: Failed to re-join any previously known node")
		}
		if !s.sleep(s.config.ReconnectInterval) || time.Now().After(deadline) || s.hasAliveMembers() {
			return
		}
	}
}
