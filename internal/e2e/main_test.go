package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/oracle"
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
	if bin := os.Getenv("SERF_E2E_BIN"); bin != "" {
		serfBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "serf-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serfBin = filepath.Join(dir, "serf")
	if err := buildSerf(serfBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// buildSerf builds ./cmd/serf from the module root into bin, with -race
// when the tests run with it.
func buildSerf(bin string) error {
	root, err := oracle.ModuleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/serf")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
