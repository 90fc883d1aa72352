// Package layout_test checks that imports run one way (CONTRIBUTING.md,
// "How the code reads"): cmd/serf -> command -> client; command (agent
// subcommand) -> agent -> event, serf, client; event -> serf; serf ->
// coordinate. And that the product never imports HashiCorp's serf or
// consul, nor anything of the tests under internal/: internal/atomicfile
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
		"command":    {},
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

// imports lists the packages pkg imports itself (non-test code).
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -f {{.Imports}} %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// depsOf lists what the package at path imports, directly or not.
func depsOf(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", path).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

// TestCommandReachesSerfOnlyThroughAgent: the commands talk to an agent
// through package client, and `serf agent` builds its daemon with package
// agent; neither command itself nor anything else it imports reaches the
// serf library or memberlist.
func TestCommandReachesSerfOnlyThroughAgent(t *testing.T) {
	library := []string{module + "/serf", "github.com/hashicorp/memberlist"}
	for _, d := range imports(t, "command") {
		for _, lib := range library {
			if d == lib {
				t.Errorf("command imports %s", lib)
			}
		}
		if d == module+"/agent" || !strings.Contains(d, ".") {
			continue // agent may; the standard library cannot
		}
		for _, dd := range depsOf(t, d) {
			for _, lib := range library {
				if dd == lib {
					t.Errorf("command imports %s, which imports %s", d, lib)
				}
			}
		}
	}
}
