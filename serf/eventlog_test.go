package serf_test

import (
	"sync"

	"github.com/openserf/serf/serf"
)

// eventLog is a concurrency-safe list of events received.
type eventLog struct {
	mu     sync.Mutex
	events []serf.Event
}

func (l *eventLog) add(e serf.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) users() []serf.UserEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []serf.UserEvent
	for _, e := range l.events {
		if u, ok := e.(serf.UserEvent); ok {
			out = append(out, u)
		}
	}
	return out
}
