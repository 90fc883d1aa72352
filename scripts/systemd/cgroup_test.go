package systemd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The machine's cgroup hierarchies that systemd in a container uses: the
// hybrid layout, with systemd's named v1 hierarchy and the unified v2 one.
// Every container gets a cgroup of its own in both, so that nspawn and
// the container's systemd create theirs below it, not at the roots, and
// removing it removes all of them.
var cgroupRoots = []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}

// cgroupPrefix starts the name of every cgroup the suite creates; the
// run's ID and the container's name follow.
const cgroupPrefix = "openserf-systemd-"

// cgroupName is the cgroup of the named container in this run.
func cgroupName(container string) string {
	return cgroupPrefix + runID + "-" + container
}

// makeCgroups creates the container's cgroup in every hierarchy and
// returns their paths.
func makeCgroups(name string) ([]string, error) {
	var paths []string
	for _, root := range cgroupRoots {
		path := filepath.Join(root, name)
		if err := os.Mkdir(path, 0o755); err != nil {
			removeCgroups(paths)
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// removeCgroups removes each cgroup and every cgroup below it, deepest
// first. A cgroup is a directory whose files cannot be deleted: rmdir
// alone removes it, once no process is left in it.
func removeCgroups(paths []string) error {
	var errs []error
	for _, path := range paths {
		var dirs []string
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// WalkDir visits parents before children.
		slices.Reverse(dirs)
		for _, dir := range dirs {
			if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", dir, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeStaleCgroups removes the cgroups of earlier runs whose process is
// gone (a run killed before its cleanup). Their sandbox died with them,
// so nothing runs in them any more.
func removeStaleCgroups() {
	for _, root := range cgroupRoots {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
			if !ok || !e.IsDir() {
				continue
			}
			pid, _, _ := strings.Cut(rest, "-")
			if n, err := strconv.Atoi(pid); err == nil && syscall.Kill(n, 0) == nil {
				continue
			}
			if err := removeCgroups([]string{filepath.Join(root, e.Name())}); err != nil {
				fmt.Fprintf(os.Stderr, "systemd: stale cgroup: %v\n", err)
			}
		}
	}
}
