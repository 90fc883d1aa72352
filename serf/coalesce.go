package serf

// memberEventCoalescer keeps, per member, the latest membership event of
// a window and emits one MemberEvent per type at the flush. An event of
// the same type as the one last emitted for that member is not emitted
// again, except member-update.
//
// Unlike Serf, the per-window state is cleared at every flush. Serf keeps
// it forever and so re-emits a stale member-update for every member whose
// last event was an update, with every later batch (docs/compatibility.md).
type memberEventCoalescer struct {
	last   map[string]EventType // type last emitted per member
	latest map[string]Member    // member snapshot of the window
	types  map[string]EventType // latest type of the window
	order  []string             // members in order of first event
}

func newMemberEventCoalescer() *memberEventCoalescer {
	return &memberEventCoalescer{
		last:   make(map[string]EventType),
		latest: make(map[string]Member),
		types:  make(map[string]EventType),
	}
}

func (c *memberEventCoalescer) handles(e Event) bool {
	switch e.EventType() {
	case EventMemberJoin, EventMemberLeave, EventMemberFailed, EventMemberUpdate, EventMemberReap:
		_, ok := e.(MemberEvent)
		return ok
	}
	return false
}

func (c *memberEventCoalescer) add(e Event) {
	me := e.(MemberEvent)
	for _, m := range me.Members {
		if _, seen := c.types[m.Name]; !seen {
			c.order = append(c.order, m.Name)
		}
		c.types[m.Name] = me.Type
		c.latest[m.Name] = m
	}
}

func (c *memberEventCoalescer) flush() []Event {
	byType := make(map[EventType]*MemberEvent)
	var out []Event
	for _, name := range c.order {
		t := c.types[name]
		if prev, ok := c.last[name]; ok && prev == t && t != EventMemberUpdate {
			continue
		}
		c.last[name] = t
		ev, ok := byType[t]
		if !ok {
			ev = &MemberEvent{Type: t}
			byType[t] = ev
		}
		ev.Members = append(ev.Members, c.latest[name])
	}
	// Emit in Serf's event type order so a join is seen before a leave.
	for t := EventMemberJoin; t <= EventMemberReap; t++ {
		if ev, ok := byType[t]; ok {
			out = append(out, *ev)
		}
	}
	// A reaped member is gone: forget what was last emitted for it so the
	// map does not grow without bound.
	if ev, ok := byType[EventMemberReap]; ok {
		for _, m := range ev.Members {
			delete(c.last, m.Name)
		}
	}
	c.latest = make(map[string]Member)
	c.types = make(map[string]EventType)
	c.order = nil
	return out
}

// userEventCoalescer keeps, per event name, only the events with the
// newest Lamport time of a window. Events sent without coalescing pass
// through.
type userEventCoalescer struct {
	latest map[string]*latestUserEvents
	order  []string
}

type latestUserEvents struct {
	ltime  LamportTime
	events []Event
}

func newUserEventCoalescer() *userEventCoalescer {
	return &userEventCoalescer{latest: make(map[string]*latestUserEvents)}
}

func (c *userEventCoalescer) handles(e Event) bool {
	u, ok := e.(UserEvent)
	return ok && u.Coalesce
}

func (c *userEventCoalescer) add(e Event) {
	u := e.(UserEvent)
	cur, ok := c.latest[u.Name]
	switch {
	case !ok:
		c.order = append(c.order, u.Name)
		c.latest[u.Name] = &latestUserEvents{ltime: u.LTime, events: []Event{e}}
	case u.LTime > cur.ltime:
		cur.ltime, cur.events = u.LTime, []Event{e}
	case u.LTime == cur.ltime:
		cur.events = append(cur.events, e)
	}
}

func (c *userEventCoalescer) flush() []Event {
	var out []Event
	for _, name := range c.order {
		out = append(out, c.latest[name].events...)
	}
	c.latest = make(map[string]*latestUserEvents)
	c.order = nil
	return out
}
