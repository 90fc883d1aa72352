package command

import (
	"testing"

	"github.com/openserf/serf/serf"
	"go.uber.org/goleak"
)

// Every goroutine an in-process agent or a command starts must be gone
// once it has returned and the tests' cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The version command's protocol range is the library's, which the
// command package does not import.
func TestProtocolRangeIsSerfs(t *testing.T) {
	if protocolMax != serf.ProtocolVersionMax || protocolMin != serf.ProtocolVersionMin {
		t.Errorf("protocol range %d..%d, want serf's %d..%d",
			protocolMin, protocolMax, serf.ProtocolVersionMin, serf.ProtocolVersionMax)
	}
}
