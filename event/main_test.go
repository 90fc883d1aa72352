package event

import (
	"testing"

	"github.com/openserf/serf/serf"
	"go.uber.org/goleak"
)

// Every worker, script and pipe goroutine must be gone once the Runners
// are shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// userEvent is a user event as the serf library delivers it.
func userEvent(name string, ltime serf.LamportTime, payload string) serf.UserEvent {
	return serf.UserEvent{LTime: ltime, Name: name, Payload: []byte(payload)}
}
