//go:build !linux

package agentproc

import (
	"os/exec"
	"syscall"
)

// SetDeathSignal gives cmd a process group of its own when group is set.
// Only Linux has a parent-death signal; elsewhere the test's cleanup is
// all that stops an agent.
func SetDeathSignal(cmd *exec.Cmd, group bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: group}
}

// groupRuns reports false: without /proc a signalled group is taken as
// gone.
func groupRuns(int) bool { return false }
