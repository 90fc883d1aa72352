package agentproc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// SetDeathSignal makes the kernel kill cmd's process if the test binary
// dies without running its cleanups (a panic, a timeout, ^C), so that no
// stray agent holds a port afterwards. With group the process also leads
// a process group of its own, for SignalGroup.
func SetDeathSignal(cmd *exec.Cmd, group bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: group}
}

// groupRuns reports whether a process of group pgid is alive and not a
// zombie, from /proc/<pid>/stat: "pid (comm) state ppid pgrp ...".
func groupRuns(pgid int) bool {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
