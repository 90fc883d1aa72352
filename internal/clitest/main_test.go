package clitest

import (
	"fmt"
	"os"
	"testing"

	"github.com/openserf/serf/internal/serfbin"
)

// ourBin is our serf binary, built once by TestMain.
var ourBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// SERF_CLITEST_BIN puts another serf in place of ours, such as a
	// real Serf release, to check the tests themselves: with Serf on both
	// sides every comparison of TestCrossMatrix must hold. The seed tests
	// expect members in name order, ours (docs/commands/members.md), so
	// Serf's map order can fail them.
	defer serfbin.Cleanup()
	var err error
	if ourBin, err = serfbin.OursOr("SERF_CLITEST_BIN"); err != nil {
		fmt.Fprintln(os.Stderr, "clitest:", err)
		return 1
	}
	return m.Run()
}
