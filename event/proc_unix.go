//go:build unix

package event

import (
	"os"
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

// keepOpen keeps the pipe end f open, unread, until the process exits,
// and closes f itself. A detached script's output pipe is kept so: its
// writes succeed (until the pipe is full) while the agent lives, and fail
// with EPIPE, or SIGPIPE, once it has exited, as they do in Serf, where
// the agent reads the pipe until it exits. A bare descriptor, which
// nothing closes, does that: f would be closed when it is collected.
// One descriptor is kept per script left running at Shutdown.
func keepOpen(f *os.File) {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		// As the standard library duplicates descriptors: under
		// ForkLock, so that no child started meanwhile inherits the
		// copy before it is marked close-on-exec.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if nfd, err := syscall.Dup(int(fd)); err == nil {
			syscall.CloseOnExec(nfd)
		}
	})
}
