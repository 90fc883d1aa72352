package systemd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// treeVersion names the recipe of the cached tree. Bump it whenever
// ensureTree builds something different, so cached trees are rebuilt.
const treeVersion = "2"

// The tree's recipe: Debian bookworm, the smallest variant, plus what
// booting and our unit need (procps for /bin/kill in ExecReload).
const (
	suite    = "bookworm"
	packages = "systemd,systemd-sysv,dbus,procps"
)

// treeMarker is written last into a finished tree; a tree without it is
// the remains of an interrupted build.
const treeMarker = ".openserf-tree"

// envCache overrides the cache directory, envMirror the Debian mirror.
const (
	envCache  = "SERF_SYSTEMD_CACHE"
	envMirror = "SERF_SYSTEMD_MIRROR"
)

// cacheDir is where trees and downloaded packages are kept between runs.
func cacheDir() string {
	if d := os.Getenv(envCache); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "openserf", "systemd-bookworm")
}

// ensureTree returns the path of a bootable bookworm tree under cache,
// building it with debootstrap when no tree of treeVersion is there.
// debootstrap keeps the packages it downloads in cache/debs, so a new
// recipe does not download everything again. Concurrent runs wait for
// each other on a lock.
func ensureTree(cache string) (string, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := oracle.LockFile(filepath.Join(cache, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	dir := filepath.Join(cache, "tree-"+treeVersion)
	if marker, err := os.ReadFile(filepath.Join(dir, treeMarker)); err == nil && strings.TrimSpace(string(marker)) == treeVersion {
		return dir, nil
	}
	mirror, err := debianMirror()
	if err != nil {
		return "", err
	}
	debs := filepath.Join(cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	fmt.Printf("systemd: building the bookworm tree with debootstrap from %s (minutes on a fresh machine)\n", mirror)
	cmd := exec.Command("debootstrap", "--variant=minbase", "--include="+packages,
		"--cache-dir="+debs, suite, tmp, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("debootstrap: %w\n%s", err, tail(string(out), 30))
	}
	if err := quieten(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, treeMarker), []byte(treeVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	// Trees of other recipes are of no more use.
	old, _ := filepath.Glob(filepath.Join(cache, "tree-*"))
	for _, o := range old {
		if o != tmp {
			if err := os.RemoveAll(o); err != nil {
				return "", err
			}
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// quieten keeps boots short and their console quiet: no getty on any
// terminal and no timers (apt, man-db, log rotation) firing during a test.
// It also drops what debootstrap copied from the host that the
// containers must not have: the host's name in /etc/hostname (the
// container is named after its machine name instead, and the agent's
// node after it), and the downloaded packages, kept in the cache once.
func quieten(root string) error {
	for _, path := range []string{"etc/hostname"} {
		if err := os.Remove(filepath.Join(root, path)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(root, "var", "cache", "apt", "archives", "*.deb"))
	for _, deb := range debs {
		if err := os.Remove(deb); err != nil {
			return err
		}
	}
	system := filepath.Join(root, "etc", "systemd", "system")
	if err := os.MkdirAll(system, 0o755); err != nil {
		return err
	}
	for _, unit := range []string{"getty@.service", "serial-getty@.service", "console-getty.service", "container-getty@.service"} {
		path := filepath.Join(system, unit)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink("/dev/null", path); err != nil {
			return fmt.Errorf("mask %s: %w", unit, err)
		}
	}
	timers, _ := filepath.Glob(filepath.Join(system, "timers.target.wants", "*"))
	for _, timer := range timers {
		if err := os.Remove(timer); err != nil {
			return err
		}
	}
	return nil
}

// debianMirror returns $SERF_SYSTEMD_MIRROR, or the mirror the host's apt
// uses for bookworm: the only one these machines can reach.
func debianMirror() (string, error) {
	if m := os.Getenv(envMirror); m != "" {
		return m, nil
	}
	if m, ok := mirrorFromDeb822("/etc/apt/sources.list.d/debian.sources"); ok {
		return m, nil
	}
	if m, ok := mirrorFromList("/etc/apt/sources.list"); ok {
		return m, nil
	}
	return "", fmt.Errorf("no bookworm mirror in the host's apt sources; set %s", envMirror)
}

// mirrorFromDeb822 reads a deb822 sources file and returns the first URI
// of the first stanza whose suites include bookworm itself.
func mirrorFromDeb822(path string) (string, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, stanza := range strings.Split(string(data), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if key, value, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
				fields[strings.ToLower(strings.TrimSpace(key))] = strings.TrimSpace(value)
			}
		}
		uris := strings.Fields(fields["uris"])
		if len(uris) > 0 && slices.Contains(strings.Fields(fields["suites"]), suite) {
			return uris[0], true
		}
	}
	return "", false
}

// mirrorFromList reads a one-line-style sources.list.
func mirrorFromList(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		if strings.HasPrefix(fields[0], "[") {
			for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
				fields = fields[1:]
			}
			if len(fields) > 0 {
				fields = fields[1:]
			}
		}
		if len(fields) >= 2 && fields[1] == suite {
			return fields[0], true
		}
	}
	return "", false
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
