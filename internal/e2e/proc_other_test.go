//go:build !linux

package e2e

import (
	"os/exec"
	"syscall"
)

func setDeathSignal(*exec.Cmd) {}

func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
