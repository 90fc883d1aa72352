//go:build linux

package netem

import (
	"testing"

	"go.uber.org/goleak"
)

// Every reader, writer and echo goroutine must be gone once the queues
// are closed and the tests' cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
