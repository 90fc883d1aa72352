package agent

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openserf/serf/internal/testutil/wait"
)

// Every goroutine an agent, its RPC server or its mDNS discovery starts
// must be gone once they are shut down and the tests' cleanups have run.
// memberlist's last probe of a peer can outlive the node's Shutdown by a
// probe interval (longer while its health score is poor), so the check
// waits for it, against a deadline, instead of goleak's half a second.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := wait.Until(15*time.Second, func() error { return goleak.Find() }); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
