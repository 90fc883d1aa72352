// Package layout_test checks that imports run one way (CONTRIBUTING.md,
// "How the code reads"): cmd/serf -> command, command/agentcmd;
// command -> client; command/agentcmd -> agent -> event, serf, client;
// event -> serf; serf -> coordinate. And that the product never imports
// HashiCorp's serf or consul, nor anything of the tests under internal/: internal/atomicfile
// is the one product package there (see its package documentation). And
// that internal/ stays sorted into its groups (docs/testing.md):
// testutil/ holds the helpers tests import, suites/ the test suites, lab/
// the network lab the multi-host suite runs on; tools/ is a module of its
// own. And that the repository cites nothing outside itself
// (references_test.go).
package layout_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/openserf/serf"

// deps lists the packages pkg imports, directly or not (non-test code).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// productInternal are the packages under internal/ that product code may
// import: shared by serf and agent, but no public API.
var productInternal = map[string]bool{
	module + "/internal/atomicfile": true,
}

func TestImportsRunOneWay(t *testing.T) {
	forbidden := map[string][]string{
		"coordinate": {"serf", "event", "agent", "client", "command"},
		"serf":       {"event", "agent", "client", "command"},
		"event":      {"agent", "client", "command"},
		"client":     {"serf", "event", "agent", "command"},
		"agent":      {"command"},
		"command":    {"serf", "agent", "event"},
		"cmd/serf":   {},
	}
	for pkg, bad := range forbidden {
		for _, d := range deps(t, pkg) {
			for _, b := range bad {
				if d == module+"/"+b {
					t.Errorf("%s imports %s", pkg, b)
				}
			}
			if strings.HasPrefix(d, "github.com/hashicorp/serf") || strings.HasPrefix(d, "github.com/hashicorp/consul") {
				t.Errorf("%s imports %s: the product must not depend on Serf or Consul", pkg, d)
			}
			if strings.HasPrefix(d, module+"/internal/") && !productInternal[d] {
				t.Errorf("%s imports the test helper %s", pkg, d)
			}
		}
	}
}

// TestProductInternalIsSmall keeps the product packages under internal/
// free of test helpers and of the rest of the module, so that allowing
// them does not let a test harness in through the back door.
func TestProductInternalIsSmall(t *testing.T) {
	for pkg := range productInternal {
		for _, d := range deps(t, strings.TrimPrefix(pkg, module+"/")) {
			if d != pkg && strings.HasPrefix(d, module+"/") {
				t.Errorf("%s imports %s; a product package under internal/ must import nothing of this module", pkg, d)
			}
			if d == "testing" {
				t.Errorf("%s imports testing", pkg)
			}
		}
	}
}

// internalGroups are the folders under internal/ of this module and the
// groups a package in each may import, its tests included. The product
// code of atomicfile imports nothing of the module
// (TestProductInternalIsSmall); its tests use the helpers.
var internalGroups = map[string][]string{
	"internal/atomicfile": {"internal/testutil/"},
	"internal/testutil/":  {"internal/atomicfile", "internal/testutil/"},
	"internal/lab/":       {"internal/lab/", "internal/testutil/"},
	"internal/suites/":    {"internal/atomicfile", "internal/lab/", "internal/testutil/"},
}

// group returns the group of a path inside the module, or "" when it is
// in none.
func group(path string) string {
	for g := range internalGroups {
		if strings.HasPrefix(path, g) {
			return g
		}
	}
	return ""
}

func TestInternalIsGrouped(t *testing.T) {
	// Each package with everything it and its tests import.
	const format = `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`
	out, err := exec.Command("go", "list", "-f", format, module+"/internal/...").Output()
	if err != nil {
		t.Fatalf("go list %s/internal/...: %v", module, err)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module+"/")
		seen++
		g := group(pkg)
		if g == "" {
			t.Errorf("%s is in no group under internal/: testutil/, suites/, lab/ or atomicfile", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			imp = strings.TrimPrefix(imp, module+"/")
			if ig := group(imp); ig != "" && imp != pkg && !slices.Contains(internalGroups[g], ig) {
				t.Errorf("%s imports %s: %s may not import %s", pkg, imp, g, ig)
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list listed no package under internal/")
	}
}

// TestCommandReachesNoLibrary: the client commands talk to an agent
// through package client only; `serf agent` is package command/agentcmd,
// which cmd/serf adds. So "go list -deps ./command" lists neither the
// serf library nor memberlist.
func TestCommandReachesNoLibrary(t *testing.T) {
	for _, d := range deps(t, "command") {
		if d == module+"/serf" || d == "github.com/hashicorp/memberlist" {
			t.Errorf("command reaches %s", d)
		}
	}
}
