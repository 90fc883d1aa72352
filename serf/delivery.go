package serf

import "time"

// The delivery pipeline carries events from the places that produce them
// (memberlist callbacks, message handlers, the reaper) to Config.EventCh:
//
//	deliver -> eventQ -> [user coalescer] -> [member coalescer] -> EventCh
//
// Producers call deliver, which never blocks: when eventQ is full the event
// is dropped and counted. Each later stage is a goroutine owned by the node
// that blocks only on its output, so a slow EventCh reader fills eventQ and
// loses events but never stalls gossip or a lock holder.

// deliver hands an event to the pipeline without blocking. It may be
// called with memberLock held, which keeps events in the order of the
// state changes that made them.
func (s *Serf) deliver(e Event) {
	if s.snapshot != nil {
		s.snapshot.record(e)
	}
	// Serf's own queries are answered here, off the pipeline, so a stuck
	// EventCh reader cannot hold up key rotation or conflict resolution.
	if q, ok := e.(*Query); ok && q.internal() {
		s.goFunc(func() { s.handleInternalQuery(q) })
		return
	}
	select {
	case s.eventQ <- e:
	default:
		n := s.droppedEvents.Add(1)
		s.metrics.IncrCounterWithLabels([]string{"serf", "events", "dropped"}, 1, s.labels)
		// Log the first drop and then every 1024th, so a stuck reader
		// cannot flood the log.
		if n == 1 || n%1024 == 0 {
			s.logger.Printf("[WARN] serf: Event channel full, dropped %s (%d dropped so far)", e, n)
		}
	}
}

// startPipeline starts the goroutines between eventQ and Config.EventCh.
func (s *Serf) startPipeline() {
	var in <-chan Event = s.eventQ

	if s.config.UserCoalescePeriod > 0 && s.config.UserQuiescentPeriod > 0 {
		in = s.coalesce(in, newUserEventCoalescer(), s.config.UserCoalescePeriod, s.config.UserQuiescentPeriod)
	}
	if s.config.CoalescePeriod > 0 && s.config.QuiescentPeriod > 0 {
		in = s.coalesce(in, newMemberEventCoalescer(), s.config.CoalescePeriod, s.config.QuiescentPeriod)
	}

	out := s.config.EventCh
	s.goFunc(func() {
		for {
			select {
			case e := <-in:
				if out != nil && !s.send(out, e) {
					return
				}
			case <-s.shutdownCh:
				return
			}
		}
	})
}

// send blocks until out takes e or the node shuts down (false).
func (s *Serf) send(out chan<- Event, e Event) bool {
	select {
	case out <- e:
		return true
	case <-s.shutdownCh:
		return false
	}
}

// coalescer gathers events of the kinds it handles between flushes.
type coalescer interface {
	// handles reports whether e is coalesced; others pass straight on.
	handles(e Event) bool
	add(e Event)
	// flush returns what was gathered and starts over.
	flush() []Event
}

// coalesce starts a coalescing stage and returns its output. A window
// opens with the first handled event and is flushed when period has passed
// since then, or quiescent has passed without a new handled event.
func (s *Serf) coalesce(in <-chan Event, c coalescer, period, quiescent time.Duration) <-chan Event {
	out := make(chan Event, 1024)
	s.goFunc(func() {
		// A nil timer channel never fires: no window is open.
		var quantum, quiet *time.Timer
		var quantumC, quietC <-chan time.Time
		closeWindow := func() {
			if quantum != nil {
				quantum.Stop()
			}
			if quiet != nil {
				quiet.Stop()
			}
			quantum, quiet, quantumC, quietC = nil, nil, nil, nil
		}
		defer closeWindow()
		for {
			select {
			case e := <-in:
				if !c.handles(e) {
					if !s.send(out, e) {
						return
					}
					continue
				}
				if quantum == nil {
					quantum = time.NewTimer(period)
					quantumC = quantum.C
				}
				if quiet != nil {
					quiet.Stop()
				}
				quiet = time.NewTimer(quiescent)
				quietC = quiet.C
				c.add(e)
				continue
			case <-quantumC:
			case <-quietC:
			case <-s.shutdownCh:
				// Hand over what is gathered if there is room; nobody may
				// be reading any more, so never block here.
				for _, e := range c.flush() {
					select {
					case out <- e:
					default:
					}
				}
				return
			}
			closeWindow()
			for _, e := range c.flush() {
				if !s.send(out, e) {
					return
				}
			}
		}
	})
	return out
}
