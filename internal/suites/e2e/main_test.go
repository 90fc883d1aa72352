package e2e

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

// serfBin is our serf binary, built once by TestMain.
var serfBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	// The tests mostly wait for agents: run more at once than there are
	// cores, unless -parallel says otherwise.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", strconv.Itoa(max(8, runtime.GOMAXPROCS(0))))
	}
	// SERF_E2E_BIN runs the suite against another serf, such as a real
	// Serf release, to check the tests themselves: there only the tests of
	// our documented differences (docs/compatibility.md) should fail.
	return serfbin.Run(m, "SERF_E2E_BIN", &serfBin)
}
