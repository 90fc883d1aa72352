package serf

import (
	"reflect"
	"slices"
	"testing"
)

// coalesceMember is a member named name with one tag, enough to tell two
// snapshots of the same member apart.
func coalesceMember(name, version string) Member {
	return Member{Name: name, Status: StatusAlive, Tags: map[string]string{"v": version}}
}

// memberEventSummary renders flushed member events as type -> member
// names with their "v" tag, e.g. "member-update" -> ["b@2"].
func memberEventSummary(tb testing.TB, events []Event) map[string][]string {
	tb.Helper()
	out := make(map[string][]string)
	for _, e := range events {
		me, ok := e.(MemberEvent)
		if !ok {
			tb.Fatalf("flush() returned %T, want MemberEvent", e)
		}
		if _, dup := out[me.Type.String()]; dup {
			tb.Errorf("flush() returned two %s events, want one per type", me.Type)
		}
		names := []string{}
		for _, m := range me.Members {
			names = append(names, m.Name+"@"+m.Tags["v"])
		}
		slices.Sort(names)
		out[me.Type.String()] = names
	}
	return out
}

func TestCoalesceMemberHandles(t *testing.T) {
	c := newMemberEventCoalescer()
	for _, tt := range []struct {
		e    Event
		want bool
	}{
		{MemberEvent{Type: EventMemberJoin}, true},
		{MemberEvent{Type: EventMemberLeave}, true},
		{MemberEvent{Type: EventMemberFailed}, true},
		{MemberEvent{Type: EventMemberUpdate}, true},
		{MemberEvent{Type: EventMemberReap}, true},
		{MemberEvent{Type: EventUser}, false},
		{&MemberEvent{Type: EventMemberJoin}, false},
		{UserEvent{Name: "x", Coalesce: true}, false},
		{&Query{Name: "x"}, false},
	} {
		if got := c.handles(tt.e); got != tt.want {
			t.Errorf("handles(%#v) = %v, want %v", tt.e, got, tt.want)
		}
	}
}

func TestCoalesceMemberLatestTypePerMember(t *testing.T) {
	c := newMemberEventCoalescer()
	c.add(MemberEvent{Type: EventMemberJoin, Members: []Member{
		coalesceMember("a", "1"), coalesceMember("b", "1"), coalesceMember("c", "1"),
	}})
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("b", "2")}})
	c.add(MemberEvent{Type: EventMemberLeave, Members: []Member{coalesceMember("c", "3")}})
	c.add(MemberEvent{Type: EventMemberFailed, Members: []Member{coalesceMember("d", "1")}})
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("e", "1")}})
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("e", "2")}})

	events := c.flush()
	got := memberEventSummary(t, events)
	want := map[string][]string{
		"member-join":   {"a@1"},
		"member-update": {"b@2", "e@2"},
		"member-leave":  {"c@3"},
		"member-failed": {"d@1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %v, want %v", got, want)
	}

	// Serf's order is random; ours follows the type numbers, so a join is
	// always seen before a leave.
	var types []EventType
	for _, e := range events {
		types = append(types, e.EventType())
	}
	if want := []EventType{EventMemberJoin, EventMemberLeave, EventMemberFailed, EventMemberUpdate}; !slices.Equal(types, want) {
		t.Errorf("flush() types = %v, want %v", types, want)
	}
}

func TestCoalesceMemberSuppressesRepeats(t *testing.T) {
	c := newMemberEventCoalescer()
	steps := []struct {
		add  []MemberEvent
		want map[string][]string
	}{
		{
			add:  []MemberEvent{{Type: EventMemberJoin, Members: []Member{coalesceMember("a", "1")}}},
			want: map[string][]string{"member-join": {"a@1"}},
		},
		// Joined already: nothing new to say.
		{
			add:  []MemberEvent{{Type: EventMemberJoin, Members: []Member{coalesceMember("a", "2")}}},
			want: map[string][]string{},
		},
		// Updates are never suppressed...
		{
			add:  []MemberEvent{{Type: EventMemberUpdate, Members: []Member{coalesceMember("a", "3")}}},
			want: map[string][]string{"member-update": {"a@3"}},
		},
		{
			add:  []MemberEvent{{Type: EventMemberUpdate, Members: []Member{coalesceMember("a", "4")}}},
			want: map[string][]string{"member-update": {"a@4"}},
		},
		// ...and a join after an update is news again.
		{
			add:  []MemberEvent{{Type: EventMemberJoin, Members: []Member{coalesceMember("a", "5")}}},
			want: map[string][]string{"member-join": {"a@5"}},
		},
		// A window that ends where the last one did says nothing for a,
		// whatever happened in between.
		{
			add: []MemberEvent{
				{Type: EventMemberLeave, Members: []Member{coalesceMember("a", "6")}},
				{Type: EventMemberJoin, Members: []Member{coalesceMember("a", "7"), coalesceMember("b", "1")}},
			},
			want: map[string][]string{"member-join": {"b@1"}},
		},
	}
	for i, s := range steps {
		for _, e := range s.add {
			c.add(e)
		}
		if got := memberEventSummary(t, c.flush()); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: flush() = %v, want %v", i, got, s.want)
		}
	}
}

// TestCoalesceMemberClearsWindow is our documented fix of a Serf quirk
// (docs/compatibility.md, "Member event coalescing"): Serf never clears
// its per-window state, so every later flush re-emits a stale
// member-update for each member whose last event was an update. Ours
// forgets the window at flush.
func TestCoalesceMemberClearsWindow(t *testing.T) {
	c := newMemberEventCoalescer()
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("a", "1")}})
	if got, want := memberEventSummary(t, c.flush()), map[string][]string{"member-update": {"a@1"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("flush() = %v, want %v", got, want)
	}

	if got := c.flush(); len(got) != 0 {
		t.Errorf("flush() of an empty window = %v, want nothing", got)
	}

	c.add(MemberEvent{Type: EventMemberJoin, Members: []Member{coalesceMember("b", "1")}})
	want := map[string][]string{"member-join": {"b@1"}}
	if got := memberEventSummary(t, c.flush()); !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %v, want %v (no stale update for a)", got, want)
	}
	if len(c.latest) != 0 || len(c.types) != 0 || len(c.order) != 0 {
		t.Errorf("after flush() window = %v %v %v, want empty", c.latest, c.types, c.order)
	}
}

func TestCoalesceMemberReapForgets(t *testing.T) {
	c := newMemberEventCoalescer()
	c.add(MemberEvent{Type: EventMemberJoin, Members: []Member{coalesceMember("a", "1"), coalesceMember("b", "1")}})
	c.flush()
	c.add(MemberEvent{Type: EventMemberLeave, Members: []Member{coalesceMember("a", "2")}})
	c.add(MemberEvent{Type: EventMemberReap, Members: []Member{coalesceMember("a", "3")}})
	if got, want := memberEventSummary(t, c.flush()), map[string][]string{"member-reap": {"a@3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %v, want %v", got, want)
	}
	if _, ok := c.last["a"]; ok {
		t.Errorf("last[a] = %v after reap, want no entry", c.last["a"])
	}
	if _, ok := c.last["b"]; !ok {
		t.Errorf("last[b] missing, want it kept")
	}

	// Reaped and forgotten, so a second reap (a member that came back and
	// was reaped again) is news.
	c.add(MemberEvent{Type: EventMemberReap, Members: []Member{coalesceMember("a", "4")}})
	if got, want := memberEventSummary(t, c.flush()), map[string][]string{"member-reap": {"a@4"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %v, want %v", got, want)
	}
}

// TestCoalesceMemberSnapshotIsLatest checks that a member event carries
// the member as it was last seen in the window.
func TestCoalesceMemberSnapshotIsLatest(t *testing.T) {
	c := newMemberEventCoalescer()
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("a", "1")}})
	c.add(MemberEvent{Type: EventMemberUpdate, Members: []Member{coalesceMember("a", "2")}})
	events := c.flush()
	if len(events) != 1 {
		t.Fatalf("flush() = %v, want one event", events)
	}
	me := events[0].(MemberEvent)
	if len(me.Members) != 1 || !reflect.DeepEqual(me.Members[0], coalesceMember("a", "2")) {
		t.Errorf("flush() members = %+v, want [%+v]", me.Members, coalesceMember("a", "2"))
	}
}

func TestCoalesceUserHandles(t *testing.T) {
	c := newUserEventCoalescer()
	for _, tt := range []struct {
		e    Event
		want bool
	}{
		{UserEvent{Name: "x", Coalesce: true}, true},
		{UserEvent{Name: "x", Coalesce: false}, false},
		{&UserEvent{Name: "x", Coalesce: true}, false},
		{MemberEvent{Type: EventMemberJoin}, false},
		{&Query{Name: "x"}, false},
	} {
		if got := c.handles(tt.e); got != tt.want {
			t.Errorf("handles(%#v) = %v, want %v", tt.e, got, tt.want)
		}
	}
}

func userEventAt(name string, ltime LamportTime, payload string) UserEvent {
	return UserEvent{LTime: ltime, Name: name, Payload: []byte(payload), Coalesce: true}
}

func TestCoalesceUserKeepsNewest(t *testing.T) {
	c := newUserEventCoalescer()
	for _, e := range []UserEvent{
		userEventAt("deploy", 1, "v1"),
		userEventAt("restart", 4, "r4"),
		userEventAt("deploy", 3, "v3"),
		userEventAt("deploy", 2, "v2"),   // older than the newest: dropped
		userEventAt("restart", 4, "r4b"), // same time: kept beside it
		userEventAt("deploy", 3, "v3b"),
		userEventAt("restart", 1, "r1"),
	} {
		c.add(e)
	}
	got := c.flush()
	want := []Event{
		userEventAt("deploy", 3, "v3"),
		userEventAt("deploy", 3, "v3b"),
		userEventAt("restart", 4, "r4"),
		userEventAt("restart", 4, "r4b"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %+v, want %+v", got, want)
	}

	if got := c.flush(); len(got) != 0 {
		t.Errorf("second flush() = %+v, want nothing", got)
	}

	// A newer time replaces the whole set kept for that name.
	c.add(userEventAt("deploy", 5, "a"))
	c.add(userEventAt("deploy", 5, "b"))
	c.add(userEventAt("deploy", 6, "c"))
	if got, want := c.flush(), []Event{userEventAt("deploy", 6, "c")}; !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %+v, want %+v", got, want)
	}
}

// TestCoalesceUserNewWindowStartsOver checks that an old event in a new
// window is delivered: the comparison is only within a window.
func TestCoalesceUserNewWindowStartsOver(t *testing.T) {
	c := newUserEventCoalescer()
	c.add(userEventAt("deploy", 9, "v9"))
	c.flush()
	c.add(userEventAt("deploy", 2, "v2"))
	if got, want := c.flush(), []Event{userEventAt("deploy", 2, "v2")}; !reflect.DeepEqual(got, want) {
		t.Errorf("flush() = %+v, want %+v", got, want)
	}
}
