package serf

import "fmt"

// UserEvent sends a custom event to the whole cluster. Name plus payload
// must fit UserEventSizeLimit before and after encoding. With coalesce,
// receivers that coalesce may deliver only the newest event of a name.
// The local node delivers the event too.
func (s *Serf) UserEvent(name string, payload []byte, coalesce bool) error {
	size := len(name) + len(payload)
	if size > s.config.UserEventSizeLimit {
		return fmt.Errorf("user event exceeds configured limit of %d bytes before encoding", s.config.UserEventSizeLimit)
	}
	if size > UserEventSizeLimit {
		return fmt.Errorf("user event exceeds sane limit of %d bytes before encoding", UserEventSizeLimit)
	}

	msg := messageUserEvent{LTime: s.eventClock.Time(), Name: name, Payload: payload, CC: coalesce}
	raw, err := encodeMessage(messageUserEventType, &msg)
	if err != nil {
		return err
	}
	if len(raw) > s.config.UserEventSizeLimit {
		return fmt.Errorf("encoded user event exceeds configured limit of %d bytes after encoding", s.config.UserEventSizeLimit)
	}
	if len(raw) > UserEventSizeLimit {
		return fmt.Errorf("encoded user event exceeds reasonable limit of %d bytes after encoding", UserEventSizeLimit)
	}
	s.eventClock.Increment()

	s.handleUserEvent(&msg)
	s.eventBroadcasts.QueueBroadcast(&broadcast{msg: raw})
	return nil
}

// handleUserEvent records and delivers a user event unless it is a
// duplicate or too old, and reports whether to gossip it on.
func (s *Serf) handleUserEvent(msg *messageUserEvent) bool {
	s.eventClock.Witness(msg.LTime)

	s.eventLock.Lock()
	defer s.eventLock.Unlock()

	if msg.LTime < s.eventMinTime {
		return false
	}
	size := LamportTime(len(s.eventBuffer))
	cur := s.eventClock.Time()
	if cur > size && msg.LTime < cur-size {
		s.logger.Printf("[WARN] serf: received old event %s from time %d (current: %d)", msg.Name, msg.LTime, cur)
		return false
	}

	ev := userEvent{Name: msg.Name, Payload: msg.Payload}
	idx := msg.LTime % size
	slot := s.eventBuffer[idx]
	if slot != nil && slot.LTime == msg.LTime {
		for _, seen := range slot.Events {
			if seen.equal(ev) {
				return false
			}
		}
	} else {
		slot = &userEvents{LTime: msg.LTime}
		s.eventBuffer[idx] = slot
	}
	slot.Events = append(slot.Events, ev)

	s.metrics.IncrCounterWithLabels([]string{"serf", "events"}, 1, s.labels)
	s.metrics.IncrCounterWithLabels([]string{"serf", "events", msg.Name}, 1, s.labels)
	s.deliver(UserEvent{LTime: msg.LTime, Name: msg.Name, Payload: msg.Payload, Coalesce: msg.CC})
	return true
}
