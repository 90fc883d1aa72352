// Package serfbin builds our serf binary, cmd/serf, for the tests that run
// it as a process. Ours returns one binary per test binary: the first call
// builds it, with -race when the tests run with it, so that data races in
// the agent show up there too, and later calls share it. Build is the one
// go build of cmd/serf, for callers that want other flags: a static binary
// (the multi-host suite, the benchmark), or a version stamped with
// -ldflags.
//
// The package is for tests and test tools only.
package serfbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// Options say how Build compiles cmd/serf.
type Options struct {
	// Race builds with the race detector.
	Race bool
	// Static builds as "make build" does: without cgo, with -trimpath.
	Static bool
	// Flags are more go build flags, such as -ldflags.
	Flags []string
}

// Build compiles cmd/serf of this repository into dir/serf and returns
// the binary's path. The working directory may be anywhere inside the
// repository, nested modules (internal/tools) included.
func Build(dir string, o Options) (string, error) {
	root, err := oracle.ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "serf")
	args := []string{"build", "-o", bin}
	if o.Race {
		args = append(args, "-race")
	}
	if o.Static {
		args = append(args, "-trimpath")
	}
	args = append(append(args, o.Flags...), "./cmd/serf")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if o.Static {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// ours is the binary Ours builds, once per test binary.
var ours struct {
	once sync.Once
	dir  string // the temporary directory holding it, for Cleanup
	bin  string
	err  error
}

// Ours returns our serf for this test binary, building it the first time
// it is called: from cmd/serf, with -race when the tests run with it,
// into a temporary directory that Cleanup removes. Later calls return the
// same path, or the same error.
func Ours() (string, error) {
	ours.once.Do(func() {
		ours.dir, ours.err = os.MkdirTemp("", "serf-test-")
		if ours.err != nil {
			return
		}
		ours.bin, ours.err = Build(ours.dir, Options{Race: Race})
	})
	return ours.bin, ours.err
}

// OursOr returns the binary named by the environment variable env when
// it is set, and Ours otherwise: a suite run with env set to a real Serf
// release checks the tests themselves.
func OursOr(env string) (string, error) {
	if bin := os.Getenv(env); bin != "" {
		return bin, nil
	}
	return Ours()
}

// Path is Ours for a test: it fails tb when the build failed.
func Path(tb testing.TB) string {
	tb.Helper()
	bin, err := Ours()
	if err != nil {
		tb.Fatalf("build our serf: %v", err)
	}
	return bin
}

// Cleanup removes the binary Ours built, if it built one. The TestMain of
// a package that calls Ours or Path calls it once the tests are done.
func Cleanup() {
	if ours.dir != "" {
		os.RemoveAll(ours.dir)
	}
}

// Main is a TestMain for packages that need nothing else: it runs the
// tests, removes our binary and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	defer Cleanup()
	return m.Run()
}

// Run is the TestMain of a suite that runs one serf throughout: it sets
// *bin to OursOr(env), built before any test starts, runs the tests,
// removes the binary and returns the exit code for os.Exit.
func Run(m *testing.M, env string, bin *string) int {
	defer Cleanup()
	var err error
	if *bin, err = OursOr(env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
