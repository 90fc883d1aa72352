package systemd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/oracle"
)

const (
	// envSystemd set to 1 runs the tests; without it they skip. With it,
	// anything missing (root, a tool, the tree) fails them.
	envSystemd = "SERF_SYSTEMD"

	// What TestMain hands to its sandboxed self.
	envTree    = "SERF_SYSTEMD_TREE"
	envBin     = "SERF_SYSTEMD_BIN"
	envPeerBin = "SERF_SYSTEMD_PEER_BIN"
	envRun     = "SERF_SYSTEMD_RUN"
	envDebOld  = "SERF_SYSTEMD_DEB_OLD"
	envDebNew  = "SERF_SYSTEMD_DEB_NEW"
	envDebErr  = "SERF_SYSTEMD_DEB_ERROR"
)

// The suite's inputs, set by TestMain.
var (
	// tree is the bookworm tree the containers boot (read-only to them).
	tree string
	// ourBin is our serf binary, installed in the containers.
	ourBin string
	// peerBin runs the peer agent: real Serf 0.11.0 when it is cached,
	// else ours.
	peerBin string
	// runID names this run's cgroups: the PID of the process outside the
	// sandbox, so a later run can tell a dead run's leftovers.
	runID string

	// debOld and debNew are the Debian packages of two versions
	// (deb_test.go), built only when -run can select a TestDeb test;
	// debFailReason, when set, is why they could not be.
	debOld, debNew, debFailReason string

	// skipReason or failReason, when set, is why every test skips or
	// fails.
	skipReason, failReason string
)

// requireSystemd skips or fails the test when the suite cannot run.
func requireSystemd(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if failReason != "" {
		t.Fatal(failReason)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(envSystemd) != "1" {
		skipReason = "boots a real systemd in a container: runs with " + envSystemd + "=1 (make integration)"
		return m.Run()
	}
	if err := checkTools(); err != nil {
		failReason = err.Error()
		return m.Run()
	}
	if netns.InSandbox() {
		tree, ourBin, peerBin, runID = os.Getenv(envTree), os.Getenv(envBin), os.Getenv(envPeerBin), os.Getenv(envRun)
		debOld, debNew, debFailReason = os.Getenv(envDebOld), os.Getenv(envDebNew), os.Getenv(envDebErr)
		return m.Run()
	}

	// Outside the sandbox, where the network is: the tree, our binary and
	// the peer's, then the tests inside it.
	removeStaleCgroups()
	start := time.Now()
	dir, err := ensureTree(cacheDir())
	if err != nil {
		failReason = fmt.Sprintf("bookworm tree: %v", err)
		return m.Run()
	}
	fmt.Printf("systemd: bookworm tree %s ready in %.1fs\n", dir, time.Since(start).Seconds())
	work, err := os.MkdirTemp("", "serf-systemd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemd:", err)
		return 1
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "serf")
	if err := buildSerf(bin); err != nil {
		failReason = err.Error()
		return m.Run()
	}
	peer := bin
	if real, ok := oracle.Cached("v0.11.0"); ok {
		peer = real
	}
	fmt.Printf("systemd: the peer agent runs %s\n", peer)
	if selected("TestDebPackage", "TestDebLintian") {
		start := time.Now()
		old, err := buildDeb(filepath.Join(work, "deb-old"), debOldVersion)
		var deb string
		if err == nil {
			deb, err = buildDeb(filepath.Join(work, "deb-new"), debNewVersion)
		}
		if err != nil {
			// Only the TestDeb tests need the packages; they fail with
			// this.
			os.Setenv(envDebErr, err.Error())
		} else {
			os.Setenv(envDebOld, old)
			os.Setenv(envDebNew, deb)
			fmt.Printf("systemd: Debian packages %s and %s built in %.1fs\n", debOldVersion, debNewVersion, time.Since(start).Seconds())
		}
	}
	os.Setenv(envTree, dir)
	os.Setenv(envBin, bin)
	os.Setenv(envPeerBin, peer)
	os.Setenv(envRun, strconv.Itoa(os.Getpid()))
	code, _, err := netns.Sandbox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemd:", err)
		return 1
	}
	return code
}

// checkTools reports the first thing the suite needs and lacks.
func checkTools() error {
	if os.Geteuid() != 0 {
		return errors.New("booting a container needs root")
	}
	for _, tool := range []struct{ name, pkg string }{
		{"systemd-nspawn", "systemd-container"},
		{"debootstrap", "debootstrap"},
		{"ip", "iproute2"},
		{"nsenter", "util-linux"},
		{"unshare", "util-linux"},
	} {
		if _, err := exec.LookPath(tool.name); err != nil {
			return fmt.Errorf("%s not found on PATH (Debian: apt-get install %s)", tool.name, tool.pkg)
		}
	}
	return nil
}

// buildSerf builds a static cmd/serf, as make build does, into bin.
func buildSerf(bin string) error {
	root, err := oracle.ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/serf")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/serf: %w\n%s", err, out)
	}
	return nil
}
