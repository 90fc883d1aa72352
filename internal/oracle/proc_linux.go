package oracle

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the agent if the test binary dies
// without running its cleanups (a panic, a timeout, ^C), so no stray
// agents hold ports afterwards.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
