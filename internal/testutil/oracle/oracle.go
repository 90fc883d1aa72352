package oracle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Versions lists the Serf releases we test against, newest first.
var Versions = []string{"v0.11.0", "v0.10.2"}

const (
	// packagePath is what "go install" builds; the version is appended.
	packagePath = "github.com/hashicorp/serf/cmd/serf"

	// installTimeout bounds one "go install", downloads included.
	installTimeout = 10 * time.Minute

	// envInterop set to 1 makes a missing oracle a test failure.
	envInterop = "SERF_INTEROP"

	// envDir overrides the cache directory.
	envDir = "SERF_ORACLE_DIR"
)

// Interop reports whether SERF_INTEROP=1 asks for interop tests to run
// and never skip.
func Interop() bool {
	return os.Getenv(envInterop) == "1"
}

// Binary returns the path of the serf binary of the given version, one of
// Versions, installing it first when it is not cached. When it cannot be
// installed, Binary skips the test, or fails it if Interop is set.
func Binary(tb testing.TB, version string) string {
	tb.Helper()
	if !slices.Contains(Versions, version) {
		tb.Fatalf("oracle.Binary(%q): unknown version, want one of %q", version, Versions)
	}
	bin, err := install(version)
	if err != nil {
		if Interop() {
			tb.Fatalf("install serf %s oracle: %v", version, err)
		}
		tb.Skipf("serf %s oracle not available (set %s=1 to make this fail): %v", version, envInterop, err)
	}
	return bin
}

// Available is Binary for tests that must not start a slow install on
// their own: it returns the cached binary of version, installs it only
// under SERF_INTEROP=1 (where failing to is a test failure), and skips the
// test otherwise, so that a plain "go test" never downloads anything.
func Available(tb testing.TB, version string) string {
	tb.Helper()
	if bin, ok := Cached(version); ok {
		return bin
	}
	if !Interop() {
		tb.Skipf("serf %s oracle not cached (set %s=1 to install it)", version, envInterop)
	}
	return Binary(tb, version)
}

// EachVersion runs fn as a subtest of t, named after the version, for
// each of Versions, with that version's binary from Available.
func EachVersion(t *testing.T, fn func(t *testing.T, version, bin string)) {
	for _, v := range Versions {
		t.Run(v, func(t *testing.T) {
			fn(t, v, Available(t, v))
		})
	}
}

// Install is Binary for code that runs outside a test, such as a TestMain
// that must fetch the oracles before it cuts itself off the network or a
// benchmark program: it returns the binary's path, installing it first
// when it is not cached.
func Install(version string) (string, error) {
	if !slices.Contains(Versions, version) {
		return "", fmt.Errorf("unknown serf version %q, want one of %q", version, Versions)
	}
	return install(version)
}

// Cached returns where the binary of version is kept and whether it is
// already there. Tests that should not start a slow install on their own
// can check this first.
func Cached(version string) (string, bool) {
	dir, err := Dir()
	if err != nil {
		return "", false
	}
	bin := binPath(dir, version)
	return bin, isExecutable(bin)
}

// Dir returns the oracle cache directory: $SERF_ORACLE_DIR if set, else
// .cache/oracle under the module root (found by walking up from the
// working directory to go.mod). The binary of version v is <Dir>/<v>/serf.
func Dir() (string, error) {
	if d := os.Getenv(envDir); d != "" {
		return filepath.Abs(d)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "oracle"), nil
}

func binPath(dir, version string) string {
	return filepath.Join(dir, version, "serf")
}

// install makes sure the binary of version is in the cache and returns
// its path.
func install(version string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	bin := binPath(dir, version)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}

	unlock, err := LockFile(filepath.Join(dir, version+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have installed it while we waited for the lock.
	if isExecutable(bin) {
		return bin, nil
	}

	// Build into a scratch directory and rename, so an interrupted
	// install never leaves a partial binary at bin.
	tmp, err := os.MkdirTemp(dir, version+".install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", packagePath+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", packagePath, version, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "serf"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// LockFile takes an exclusive flock on path, creating it if needed, and
// returns the function that releases it. It blocks while another process
// holds the lock. Caches that several test processes fill (the oracles
// here, the systemd tree) take it around the fill.
func LockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		// Closing the file releases the lock.
		f.Close()
	}, nil
}

// ModuleRoot returns the repository root: the nearest directory at or
// above the working directory whose go.mod declares the main module,
// github.com/openserf/serf. Nested modules (internal/tools) are passed
// over, so their tests and programs share the root's oracle cache.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresRootModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module " + rootModule + " at or above the working directory")
		}
		dir = parent
	}
}

// rootModule is the module path of the repository root.
const rootModule = "github.com/openserf/serf"

func declaresRootModule(gomod []byte) bool {
	for line := range strings.Lines(string(gomod)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == rootModule
		}
	}
	return false
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
