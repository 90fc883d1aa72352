package e2e

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill a child if the test binary dies
// without running its cleanups, so no stray agents keep ports.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// setGroup is setDeathSignal for a shell script, which also gets a
// process group of its own, so that killGroup ends what it started.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
