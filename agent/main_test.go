package agent

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine an agent, its RPC server or its mDNS discovery starts
// must be gone once they are shut down and the tests' cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
