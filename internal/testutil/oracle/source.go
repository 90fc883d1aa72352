package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"testing"
)

// modulePath is the module whose source Source fetches.
const modulePath = "github.com/hashicorp/serf"

// Source returns the directory of real Serf's module source at version,
// one of Versions, from the Go module cache ("go mod download", which
// fetches it when it is not cached yet). Tests read it, never build it.
// When it cannot be had, Source skips the test, or fails it if Interop is
// set.
func Source(tb testing.TB, version string) string {
	tb.Helper()
	if !slices.Contains(Versions, version) {
		tb.Fatalf("oracle.Source(%q): unknown version, want one of %q", version, Versions)
	}
	dir, err := download(tb.TempDir(), modulePath+"@"+version)
	if err != nil {
		if Interop() {
			tb.Fatalf("serf %s source: %v", version, err)
		}
		tb.Skipf("serf %s source not available (set %s=1 to make this fail): %v", version, envInterop, err)
	}
	return dir
}

// download runs "go mod download -json mod" in the scratch directory
// work, outside this module so that its go.mod is not consulted, and
// returns the module's directory in the cache.
func download(work, mod string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = work
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %q", mod, out)
	}
	return info.Dir, nil
}
