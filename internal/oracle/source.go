package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// modulePath is the module whose source Source fetches.
const modulePath = "github.com/hashicorp/serf"

// Source returns the directory of Serf's module source at version, one of
// Versions, downloading it into the module cache when it is not there.
// Tests read it to compare our API or our log lines with Serf's. Like
// Binary, it skips the test when the source cannot be had, or fails it
// when SERF_INTEROP=1.
func Source(tb testing.TB, version string) string {
	tb.Helper()
	if !slices.Contains(Versions, version) {
		tb.Fatalf("oracle.Source(%q): unknown version, want one of %q", version, Versions)
	}
	dir, err := download(version)
	if err != nil {
		if Interop() {
			tb.Fatalf("download serf %s source: %v", version, err)
		}
		tb.Skipf("serf %s source not available (set %s=1 to make this fail): %v", version, envInterop, err)
	}
	return dir
}

// download runs "go mod download" outside any module, so that our go.mod
// is left alone, and returns the module's directory in the cache.
func download(version string) (string, error) {
	tmp, err := os.MkdirTemp("", "serf-source-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modulePath+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", modulePath, version, err)
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", modulePath, version, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", modulePath, version, info.Error)
	}
	return info.Dir, nil
}
