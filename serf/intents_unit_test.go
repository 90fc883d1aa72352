package serf

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestIntentUpsert(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	intents := make(map[string]nodeIntent)

	steps := []struct {
		typ     messageType
		ltime   LamportTime
		at      time.Time
		changed bool
		want    nodeIntent // stored afterwards
	}{
		// A first intent is stored.
		{messageJoinType, 5, t0, true, nodeIntent{messageJoinType, t0, 5}},
		// Same time: not newer, kept as is, whatever its type.
		{messageLeaveType, 5, t0.Add(time.Second), false, nodeIntent{messageJoinType, t0, 5}},
		// Older: ignored.
		{messageLeaveType, 4, t0.Add(2 * time.Second), false, nodeIntent{messageJoinType, t0, 5}},
		// Newer: replaces type, time and wall time.
		{messageLeaveType, 6, t0.Add(3 * time.Second), true, nodeIntent{messageLeaveType, t0.Add(3 * time.Second), 6}},
		{messageJoinType, 9, t0.Add(4 * time.Second), true, nodeIntent{messageJoinType, t0.Add(4 * time.Second), 9}},
	}
	for i, s := range steps {
		if got := upsertIntent(intents, "n1", s.typ, s.ltime, s.at); got != s.changed {
			t.Errorf("step %d: upsertIntent(n1, %d, %d) = %v, want %v", i, s.typ, s.ltime, got, s.changed)
		}
		if got := intents["n1"]; got != s.want {
			t.Errorf("step %d: intents[n1] = %+v, want %+v", i, got, s.want)
		}
	}

	// Other nodes are independent, and time 0 is a valid first intent.
	if !upsertIntent(intents, "n2", messageJoinType, 0, t0) {
		t.Errorf("upsertIntent(n2, join, 0) = false, want true")
	}
	if len(intents) != 2 {
		t.Errorf("len(intents) = %d, want 2", len(intents))
	}
}

func TestIntentRecent(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	intents := map[string]nodeIntent{
		"joined": {Type: messageJoinType, WallTime: t0, LTime: 7},
		"left":   {Type: messageLeaveType, WallTime: t0, LTime: 3},
	}
	for _, tt := range []struct {
		node   string
		typ    messageType
		ltime  LamportTime
		wantOK bool
	}{
		{"joined", messageJoinType, 7, true},
		{"joined", messageLeaveType, 0, false},
		{"left", messageLeaveType, 3, true},
		{"left", messageJoinType, 0, false},
		{"missing", messageJoinType, 0, false},
	} {
		ltime, ok := recentIntent(intents, tt.node, tt.typ)
		if ltime != tt.ltime || ok != tt.wantOK {
			t.Errorf("recentIntent(%s, %d) = %d, %v, want %d, %v", tt.node, tt.typ, ltime, ok, tt.ltime, tt.wantOK)
		}
	}
}

func TestIntentReap(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = time.Minute
	now := t0.Add(timeout + time.Second)
	intents := map[string]nodeIntent{
		"old":      {Type: messageJoinType, WallTime: t0, LTime: 1},
		"boundary": {Type: messageJoinType, WallTime: now.Add(-timeout), LTime: 2},
		"fresh":    {Type: messageLeaveType, WallTime: now.Add(-time.Second), LTime: 3},
		"future":   {Type: messageLeaveType, WallTime: now.Add(time.Hour), LTime: 4},
	}
	reapIntents(intents, now, timeout)

	var got []string
	for name := range intents {
		got = append(got, name)
	}
	slices.Sort(got)
	// Exactly timeout old is not yet "longer than timeout".
	if want := []string{"boundary", "fresh", "future"}; !slices.Equal(got, want) {
		t.Errorf("intents after reapIntents() = %v, want %v", got, want)
	}

	reapIntents(intents, now.Add(2*time.Hour), timeout)
	if len(intents) != 0 {
		t.Errorf("intents after reapIntents(much later) = %v, want none", intents)
	}
}

func removeMemberList(names ...string) []*memberState {
	list := make([]*memberState, 0, len(names))
	for _, n := range names {
		list = append(list, &memberState{Member: Member{Name: n}})
	}
	return list
}

func memberStateNames(list []*memberState) []string {
	names := make([]string, 0, len(list))
	for _, m := range list {
		names = append(names, m.Name)
	}
	return names
}

func TestRemoveMember(t *testing.T) {
	for _, tt := range []struct {
		list   []string
		remove string
		want   []string
	}{
		// The last member takes the removed one's place: order is not kept.
		{[]string{"a", "b", "c", "d"}, "b", []string{"a", "d", "c"}},
		{[]string{"a", "b", "c"}, "a", []string{"c", "b"}},
		{[]string{"a", "b", "c"}, "c", []string{"a", "b"}},
		{[]string{"a"}, "a", []string{}},
		{[]string{"a", "b"}, "x", []string{"a", "b"}},
		{[]string{}, "x", []string{}},
		// Only the first of duplicate names goes.
		{[]string{"a", "b", "a"}, "a", []string{"a", "b"}},
	} {
		list := removeMemberList(tt.list...)
		backing := list[:cap(list)]
		got := removeMember(list, tt.remove)
		if names := memberStateNames(got); !slices.Equal(names, tt.want) {
			t.Errorf("removeMember(%v, %s) = %v, want %v", tt.list, tt.remove, names, tt.want)
		}
		// The vacated slot must not keep the member alive.
		if len(got) < len(tt.list) && backing[len(got)] != nil {
			t.Errorf("removeMember(%v, %s) left %v in the vacated slot, want nil", tt.list, tt.remove, backing[len(got)].Name)
		}
	}

	var nilList []*memberState
	if got := removeMember(nilList, "a"); got != nil {
		t.Errorf("removeMember(nil, a) = %v, want nil", got)
	}
}

type wrapped []error

func (w wrapped) Error() string          { return "several" }
func (w wrapped) WrappedErrors() []error { return w }

func TestAllHungUp(t *testing.T) {
	eof := errors.New("failed to join 127.0.0.1:7946: EOF")
	reset := errors.New("failed to join 127.0.0.1:7946: read tcp 127.0.0.1:5->127.0.0.1:7946: read: connection reset by peer")
	refused := errors.New("failed to join 127.0.0.1:7946: dial tcp 127.0.0.1:7946: connect: connection refused")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{eof, true},
		{reset, true},
		{refused, false},
		{wrapped{eof, reset}, true},
		{wrapped{eof, refused}, false},
		{wrapped{}, false},
	} {
		if got := allHungUp(tc.err); got != tc.want {
			t.Errorf("allHungUp(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
