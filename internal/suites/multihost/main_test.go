package multihost

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/serfbin"
)

// The binaries the suite runs, found or built by TestMain before it
// enters the sandbox (where there is no network to download anything).
var (
	ourBin     string
	oracleBins = map[string]string{}
	// skipReason, when set, is why every test skips.
	skipReason string
)

// oracleBin is the real Serf binary of version (such as "v0.11.0"); the
// test fails when the suite has none.
func oracleBin(t *testing.T, version string) string {
	t.Helper()
	bin := oracleBins[version]
	if bin == "" {
		t.Fatalf("no binary for serf %s", version)
	}
	return bin
}

const (
	envIntegration = "SERF_INTEGRATION"
	envOurBin      = "SERF_MULTIHOST_BIN"
	envOracle      = "SERF_MULTIHOST_ORACLE_"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case os.Getenv(envIntegration) != "1":
		skipReason = "the multi-host suite runs with SERF_INTEGRATION=1 (make integration)"
		return m.Run()
	case netns.Check() != nil:
		skipReason = fmt.Sprintf("cannot build hosts here: %v", netns.Check())
		return m.Run()
	}
	for _, tool := range []string{"iptables", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipReason = tool + " not found on PATH (Debian: apt-get install iptables util-linux)"
			return m.Run()
		}
	}

	if netns.InSandbox() {
		ourBin = os.Getenv(envOurBin)
		for _, v := range oracle.Versions {
			oracleBins[v] = os.Getenv(envOracle + strings.ReplaceAll(v, ".", "_"))
		}
		return m.Run()
	}

	// Outside the sandbox: build and fetch, then run the tests inside it.
	dir, err := os.MkdirTemp("", "serf-multihost-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "multihost:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Built as make build does: static, without the race detector, whose
	// slowdown would distort the timings these tests assert.
	bin, err := serfbin.Build(dir, serfbin.Options{Static: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "multihost:", err)
		return 1
	}
	os.Setenv(envOurBin, bin)
	for _, v := range oracle.Versions {
		path, err := oracle.Install(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "multihost: install serf %s: %v\n", v, err)
			return 1
		}
		os.Setenv(envOracle+strings.ReplaceAll(v, ".", "_"), path)
	}
	code, _, err := netns.Sandbox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "multihost:", err)
	}
	return code
}

// requireLab skips t when the suite cannot run here.
func requireLab(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// figure logs one measured figure in a form docs/testing.md quotes and
// scripts can grep: "FIGURE <scenario> <name> <value>".
func figure(t *testing.T, name string, value any) {
	t.Helper()
	t.Logf("FIGURE %s %s %v", t.Name(), name, value)
}
