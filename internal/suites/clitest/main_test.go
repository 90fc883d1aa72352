package clitest

import (
	"os"
	"testing"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

// ourBin is our serf binary, built once by TestMain.
var ourBin string

// SERF_CLITEST_BIN puts another serf in place of ours, such as a real Serf
// release, to check the tests themselves: with Serf on both sides every
// comparison of TestCrossMatrix must hold. The seed tests expect members
// in name order, ours (docs/commands/members.md), so Serf's map order can
// fail them.
func TestMain(m *testing.M) {
	os.Exit(serfbin.Run(m, "SERF_CLITEST_BIN", &ourBin))
}
