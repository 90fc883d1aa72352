//go:build unix

package event

import (
	"os/exec"
	"syscall"
)

// defaultShell runs a script as Serf does on Unix.
func defaultShell() []string { return []string{"/bin/sh", "-c"} }

// newProcessGroup makes the script the leader of a process group of its
// own, so that killGroup reaches whatever it started too, and so that a
// ^C on the agent's terminal does not reach it.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the script's process group, whose ID is the script's
// PID. The system does not hand that ID to a new process while the script
// or any member of its group lives, so the caller kills only while the
// script runs or something still holds its output.
func killGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
