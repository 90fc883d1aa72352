package event

import (
	"reflect"
	"testing"

	"github.com/openserf/serf/serf"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in    string
		want  []Spec
		valid bool
	}{
		{"x.sh", []Spec{{Event: "*", Script: "x.sh"}}, true},
		{"", []Spec{{Event: "*"}}, true},
		{"=x.sh", []Spec{{Event: "*", Script: "x.sh"}}, true},
		{"*=FOO=1 ./x", []Spec{{Event: "*", Script: "FOO=1 ./x"}}, true},
		{"member-join=x.sh", []Spec{{Event: "member-join", Script: "x.sh"}}, true},
		{"member-join,member-join=x.sh", []Spec{
			{Event: "member-join", Script: "x.sh"},
			{Event: "member-join", Script: "x.sh"},
		}, true},
		{"member-leave,member-failed,member-update,member-reap=x", []Spec{
			{Event: "member-leave", Script: "x"},
			{Event: "member-failed", Script: "x"},
			{Event: "member-update", Script: "x"},
			{Event: "member-reap", Script: "x"},
		}, true},
		{"user=x", []Spec{{Event: "user", Script: "x"}}, true},
		{"user:=x", []Spec{{Event: "user", Script: "x"}}, true},
		{"user:deploy=x", []Spec{{Event: "user", Name: "deploy", Script: "x"}}, true},
		{"user:a:b=x", []Spec{{Event: "user", Name: "a:b", Script: "x"}}, true},
		{"query=x", []Spec{{Event: "query", Script: "x"}}, true},
		{"query:=x", []Spec{{Event: "query", Script: "x"}}, true},
		{"query:load,user:deploy=x", []Spec{
			{Event: "query", Name: "load", Script: "x"},
			{Event: "user", Name: "deploy", Script: "x"},
		}, true},
		// Not trimmed: " user:x" is no user filter.
		{"member-join, user:x=y", []Spec{
			{Event: "member-join", Script: "y"},
			{Event: " user:x", Script: "y"},
		}, false},
		{"a,,b=x", []Spec{{Event: "a", Script: "x"}, {Event: "", Script: "x"}, {Event: "b", Script: "x"}}, false},
		{"member-join,,user=x", []Spec{
			{Event: "member-join", Script: "x"},
			{Event: "", Script: "x"},
			{Event: "user", Script: "x"},
		}, false},
		{"member-join:foo=x", []Spec{{Event: "member-join:foo", Script: "x"}}, false},
		{"MEMBER-JOIN=x", []Spec{{Event: "MEMBER-JOIN", Script: "x"}}, false},
		{"User:deploy=x", []Spec{{Event: "User:deploy", Script: "x"}}, false},
		{"*:x=y", []Spec{{Event: "*:x", Script: "y"}}, false},
		{"foo=bar", []Spec{{Event: "foo", Script: "bar"}}, false},
	}
	for _, c := range cases {
		got := ParseSpec(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSpec(%q) = %#v, want %#v", c.in, got, c.want)
			continue
		}
		valid := true
		for _, s := range got {
			valid = valid && s.Valid()
		}
		if valid != c.valid {
			t.Errorf("ParseSpec(%q) all valid = %v, want %v", c.in, valid, c.valid)
		}
	}
}

func TestSpecValidName(t *testing.T) {
	cases := []struct {
		spec Spec
		want bool
	}{
		{Spec{Event: "user", Name: "x"}, true},
		{Spec{Event: "query", Name: "x"}, true},
		{Spec{Event: "member-join", Name: "x"}, false},
		{Spec{Event: "*", Name: "x"}, false},
		{Spec{Event: "*"}, true},
		{Spec{}, false},
	}
	for _, c := range cases {
		if got := c.spec.Valid(); got != c.want {
			t.Errorf("%#v.Valid() = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestSpecStringAndKey(t *testing.T) {
	cases := []struct {
		in      string
		str     string
		key     string
		invalid bool
	}{
		{"x.sh", "Event '*' invoking 'x.sh'", "*:", false},
		{"member-join=x.sh", "Event 'member-join' invoking 'x.sh'", "member-join:", false},
		{"user:deploy=x.sh", "Event 'user:deploy' invoking 'x.sh'", "user:deploy", false},
		{"user:=x.sh", "Event 'user' invoking 'x.sh'", "user:", false},
		{"query:load=x.sh", "Event 'query:load' invoking 'x.sh'", "query:load", false},
		{"member-join:foo=x.sh", "Event 'member-join:foo' invoking 'x.sh'", "member-join:foo:", true},
	}
	for _, c := range cases {
		s := ParseSpec(c.in)[0]
		if got := s.String(); got != c.str {
			t.Errorf("ParseSpec(%q)[0].String() = %q, want %q", c.in, got, c.str)
		}
		if got := s.Key(); got != c.key {
			t.Errorf("ParseSpec(%q)[0].Key() = %q, want %q", c.in, got, c.key)
		}
	}
}

func TestParseSpecs(t *testing.T) {
	got, err := ParseSpecs([]string{"member-join,user:deploy=a.sh", "b.sh"})
	if err != nil {
		t.Fatalf("ParseSpecs error: %v", err)
	}
	want := []Spec{
		{Event: "member-join", Script: "a.sh"},
		{Event: "user", Name: "deploy", Script: "a.sh"},
		{Event: "*", Script: "b.sh"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSpecs = %#v, want %#v", got, want)
	}

	errCases := []struct {
		in   []string
		want string
	}{
		{[]string{"ok.sh", "member-join,foo=x.sh", "bar=y.sh"}, "Invalid event script: Event 'foo' invoking 'x.sh'"},
		{[]string{"a,,b=x.sh"}, "Invalid event script: Event 'a' invoking 'x.sh'"},
		{[]string{"member-join,,b=x.sh"}, "Invalid event script: Event '' invoking 'x.sh'"},
		{[]string{"member-join:foo=x.sh"}, "Invalid event script: Event 'member-join:foo' invoking 'x.sh'"},
		{[]string{"USER:deploy=x.sh"}, "Invalid event script: Event 'USER:deploy' invoking 'x.sh'"},
	}
	for _, c := range errCases {
		specs, err := ParseSpecs(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseSpecs(%q) error = %v, want %q", c.in, err, c.want)
		}
		if specs != nil {
			t.Errorf("ParseSpecs(%q) = %v, want nil with the error", c.in, specs)
		}
	}
}

// unknownEvent is an event type the serf library does not deliver.
type unknownEvent struct{}

func (unknownEvent) EventType() serf.EventType { return serf.EventType(99) }
func (unknownEvent) String() string            { return "unknown" }

func TestSpecMatches(t *testing.T) {
	join := serf.MemberEvent{Type: serf.EventMemberJoin}
	leave := serf.MemberEvent{Type: serf.EventMemberLeave}
	failed := serf.MemberEvent{Type: serf.EventMemberFailed}
	update := serf.MemberEvent{Type: serf.EventMemberUpdate}
	reap := serf.MemberEvent{Type: serf.EventMemberReap}
	deploy := userEvent("deploy", 1, "")
	other := userEvent("other", 2, "")
	load := &serf.Query{Name: "load"}
	ping := &serf.Query{Name: "ping"}
	all := []serf.Event{join, leave, failed, update, reap, deploy, other, load, ping, unknownEvent{}}

	cases := []struct {
		spec string
		want []serf.Event
	}{
		{"*=x", all},
		{"x", all},
		{"member-join=x", []serf.Event{join}},
		{"member-leave=x", []serf.Event{leave}},
		{"member-failed=x", []serf.Event{failed}},
		{"member-update=x", []serf.Event{update}},
		{"member-reap=x", []serf.Event{reap}},
		{"user=x", []serf.Event{deploy, other}},
		{"user:=x", []serf.Event{deploy, other}},
		{"user:deploy=x", []serf.Event{deploy}},
		{"user:Deploy=x", nil},
		{"user:load=x", nil},
		{"query=x", []serf.Event{load, ping}},
		{"query:load=x", []serf.Event{load}},
		{"query:deploy=x", nil},
		{"member-join:foo=x", nil},
		{"MEMBER-JOIN=x", nil},
	}
	for _, c := range cases {
		spec := ParseSpec(c.spec)[0]
		var got []serf.Event
		for _, e := range all {
			if spec.Matches(e) {
				got = append(got, e)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q matches %v, want %v", c.spec, got, c.want)
		}
	}
}
