package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cfsPeriodUS is the CFS period of a CPU quota, in microseconds: the
// kernel's default, under which a quota of 5000 is 5% of one core.
const cfsPeriodUS = 100000

// cpuGroup is a cgroup with the CPU controller that agents are moved
// into, so that a quota starves them all together: cgroup v1's cpu
// controller (cpu.cfs_quota_us) or v2's cpu.max, whichever the machine
// mounts.
type cpuGroup struct {
	dir    string // the group's directory
	parent string // where its processes go back on close
	v2     bool
}

// newCPUGroup creates the cgroup name under the machine's CPU
// controller, with no quota.
func newCPUGroup(name string) (*cpuGroup, error) {
	const root = "/sys/fs/cgroup"
	g := &cpuGroup{}
	if data, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil && bytes.Contains(data, []byte("cpu")) {
		// v2: the root must hand the cpu controller to its children.
		if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0o644); err != nil {
			return nil, fmt.Errorf("cgroup v2: enable the cpu controller: %w", err)
		}
		g.parent, g.v2 = root, true
	} else if _, err := os.Stat(filepath.Join(root, "cpu", "cpu.cfs_quota_us")); err == nil {
		g.parent = filepath.Join(root, "cpu")
	} else {
		return nil, errors.New("no cgroup CPU controller: neither " + root + "/cgroup.controllers with cpu nor " + root + "/cpu/cpu.cfs_quota_us")
	}
	g.dir = filepath.Join(g.parent, name)
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	if !g.v2 {
		if err := g.write("cpu.cfs_period_us", strconv.Itoa(cfsPeriodUS)); err != nil {
			g.close()
			return nil, err
		}
	}
	return g, nil
}

func (g *cpuGroup) write(file, value string) error {
	if err := os.WriteFile(filepath.Join(g.dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: %w", file, err)
	}
	return nil
}

// add moves process pid, all its threads, into the group; the processes
// it forks later (event handlers) start there too.
func (g *cpuGroup) add(pid int) error {
	return g.write("cgroup.procs", strconv.Itoa(pid))
}

// setQuota limits the group to us microseconds of CPU per period of
// cfsPeriodUS; 0 lifts the limit.
func (g *cpuGroup) setQuota(us int) error {
	if g.v2 {
		v := "max"
		if us > 0 {
			v = strconv.Itoa(us)
		}
		return g.write("cpu.max", v+" "+strconv.Itoa(cfsPeriodUS))
	}
	if us <= 0 {
		us = -1
	}
	return g.write("cpu.cfs_quota_us", strconv.Itoa(us))
}

// throttled returns how many periods the group was throttled in, from
// cpu.stat.
func (g *cpuGroup) throttled() int {
	data, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == "nr_throttled" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// close moves any process left in the group back to its parent and
// removes the group.
func (g *cpuGroup) close() {
	if data, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs")); err == nil {
		for f := range strings.FieldsSeq(string(data)) {
			_ = os.WriteFile(filepath.Join(g.parent, "cgroup.procs"), []byte(f), 0o644)
		}
	}
	_ = os.Remove(g.dir)
}
