package event

import (
	"fmt"
	"strings"

	"github.com/openserf/serf/serf"
)

// Filter words of a Spec. A Spec whose Event is none of these is invalid.
const (
	filterAll   = "*"
	filterUser  = "user"
	filterQuery = "query"
)

// Spec is one event handler: run Script for events that pass the filter
// (Event, Name). One -event-handler flag or event_handlers entry may
// produce several Specs, one per comma-separated filter.
type Spec struct {
	// Event is an event type name as serf.EventType.String() spells it
	// ("member-join", "user", ...), or "*" for every event.
	Event string
	// Name narrows "user" to user events and "query" to queries of exactly
	// this name. Empty means all of them. No other Event takes a name.
	Name string
	// Script is run with the shell (see RunnerConfig.Shell).
	Script string
}

// ParseSpec parses a handler as Serf does: the text before the first "="
// is the filter and the rest the script; without "=" the whole text is
// the script and the filter is "*". So a script that contains "=" needs
// an explicit filter ("*=FOO=1 ./x.sh"). The filter is split on ","
// without trimming, and each element becomes one Spec: "user:NAME" and
// "query:NAME" set Name, anything else is taken as the event as it
// stands. ParseSpec does not validate; see Spec.Valid and ParseSpecs.
func ParseSpec(s string) []Spec {
	filter, script, found := strings.Cut(s, "=")
	if !found {
		filter, script = "", s
	}
	specs := ParseFilter(filter)
	for i := range specs {
		specs[i].Script = script
	}
	return specs
}

// ParseFilter parses the filter part alone, as an RPC stream's Type is:
// "" is "*", elements split on ",". The Specs have no script.
func ParseFilter(filter string) []Spec {
	if filter == "" {
		filter = filterAll
	}
	elems := strings.Split(filter, ",")
	specs := make([]Spec, 0, len(elems))
	for _, elem := range elems {
		spec := Spec{Event: elem}
		if name, ok := strings.CutPrefix(elem, filterUser+":"); ok {
			spec.Event, spec.Name = filterUser, name
		} else if name, ok := strings.CutPrefix(elem, filterQuery+":"); ok {
			spec.Event, spec.Name = filterQuery, name
		}
		specs = append(specs, spec)
	}
	return specs
}

// ParseSpecs parses every handler with ParseSpec, in order, and fails on
// the first invalid Spec with Serf's startup error text,
// "Invalid event script: Event '<event>[:<name>]' invoking '<script>'".
// The agent prints that text as it stands.
func ParseSpecs(handlers []string) ([]Spec, error) {
	var specs []Spec
	for _, h := range handlers {
		for _, spec := range ParseSpec(h) {
			if !spec.Valid() {
				return nil, fmt.Errorf("Invalid event script: %s", spec)
			}
			specs = append(specs, spec)
		}
	}
	return specs, nil
}

// Valid reports whether Event is a known event type or "*", and Name is
// empty unless Event is "user" or "query". Serf's parser cannot produce
// a name on other events: "member-join:foo" becomes an unknown Event.
func (s Spec) Valid() bool {
	switch s.Event {
	case filterUser, filterQuery:
		return true
	case filterAll,
		serf.EventMemberJoin.String(),
		serf.EventMemberLeave.String(),
		serf.EventMemberFailed.String(),
		serf.EventMemberUpdate.String(),
		serf.EventMemberReap.String():
		return s.Name == ""
	default:
		return false
	}
}

// String is Serf's description of a handler, used in its startup error:
// "Event 'member-join' invoking 'x.sh'", "Event 'user:deploy' invoking
// 'x.sh'". An empty Name is left out, so "user:" reads "Event 'user'".
func (s Spec) String() string {
	if s.Name != "" {
		return fmt.Sprintf("Event '%s:%s' invoking '%s'", s.Event, s.Name, s.Script)
	}
	return fmt.Sprintf("Event '%s' invoking '%s'", s.Event, s.Script)
}

// Key is the handler's filter as "serf info" lists it under
// event_handlers: "<event>:<name>", so "*:", "member-join:" and
// "user:deploy". Serf's info shows a map from Key to Script, so of two
// Specs with one Key it shows only one.
func (s Spec) Key() string {
	return s.Event + ":" + s.Name
}

// Matches reports whether the handler runs for e, by Serf's rules: "*"
// matches everything (and ignores Name); otherwise e's type name must
// equal Event, and a Name on "user" or "query" must equal the user
// event's or query's name exactly.
func (s Spec) Matches(e serf.Event) bool {
	if s.Event == filterAll {
		return true
	}
	if e.EventType().String() != s.Event {
		return false
	}
	if s.Name == "" {
		return true
	}
	switch s.Event {
	case filterUser:
		u, ok := e.(serf.UserEvent)
		return ok && u.Name == s.Name
	case filterQuery:
		q, ok := e.(*serf.Query)
		return ok && q.Name == s.Name
	default:
		// Serf ignores a name on other events; Valid rejects it.
		return true
	}
}
