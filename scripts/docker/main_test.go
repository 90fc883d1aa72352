// Package docker tests the image in this folder: entry-point.sh alone,
// with the machine's sh, in every test run (entry_point_test.go); and the
// image built from the Dockerfile under a real Docker engine, beside the
// Dockerfile and entry point that a published Serf guide gives
// (testdata/seed, verbatim), run with our binary (docker_test.go).
//
// The Docker tests run as root, against the engine that answers already
// or, with SERF_DOCKER=1 (make integration), against one they start in
// namespaces of their own (engine_test.go); without SERF_DOCKER=1 they
// skip when something is missing, with it they fail. The base image is
// built from the machine's static busybox (Debian's busybox-static), as no
// registry may be reachable. Every container, network and image they make
// is removed at the end, and so is the engine they started. FIGURE lines
// in the -v output carry the measurements.
package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dir := hostSerfDir.Load(); dir != nil {
		os.RemoveAll(*dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Docker's default grace period for docker stop, and the part of it that
// a graceful stop of ours may take.
const (
	gracePeriod = 10 * time.Second
	stopBudget  = 5 * time.Second
)

// waitFor polls cond every 100 ms until it returns nil; past timeout it
// fails the test with cond's last error.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	waitForValue(t, timeout, func() (struct{}, error) { return struct{}{}, cond() })
}

// waitForValue is waitFor for a condition that finds something.
func waitForValue[T any](t *testing.T, timeout time.Duration, cond func() (T, error)) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := cond()
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// copyFile copies src to dst with mode.
func copyFile(tb testing.TB, src, dst string, mode os.FileMode) {
	tb.Helper()
	b, err := os.ReadFile(src)
	check(tb, err)
	check(tb, os.MkdirAll(filepath.Dir(dst), 0o755))
	check(tb, os.WriteFile(dst, b, mode))
}
