package agent

import "github.com/openserf/serf/event"

// ParseEventHandlers parses -event-handler / event_handlers specs. The
// error for the first invalid one is Serf's start-up message,
// "Invalid event script: Event '...' invoking '...'".
func ParseEventHandlers(specs []string) ([]event.Spec, error) {
	return event.ParseSpecs(specs)
}
