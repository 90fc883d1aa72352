package serf_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a node starts must be gone once Shutdown returns and
// the test's cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
