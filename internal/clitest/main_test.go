package clitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	if bin := os.Getenv("SERF_CLITEST_BIN"); bin != "" {
		ourBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "serf-clitest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clitest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ourBin = filepath.Join(dir, "serf")
	if err := buildSerf(ourBin); err != nil {
		fmt.Fprintln(os.Stderr, "clitest:", err)
		return 1
	}
	return m.Run()
}

// buildSerf builds ./cmd/serf of this module into bin, with -race when
// the tests run with it, so that data races in the agent show up here.
func buildSerf(bin string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("go env GOMOD: not inside a module")
	}
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/serf")
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
