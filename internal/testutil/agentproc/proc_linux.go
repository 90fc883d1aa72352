package agentproc

import (
	"os/exec"
	"syscall"
)

// SetDeathSignal makes the kernel kill cmd's process if the test binary
// dies without running its cleanups (a panic, a timeout, ^C), so that no
// stray agent holds a port afterwards. With group the process also leads
// a process group of its own, for SignalGroup.
func SetDeathSignal(cmd *exec.Cmd, group bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: group}
}
