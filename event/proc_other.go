//go:build !unix

package event

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// defaultShell runs a script as Serf does: cmd /C on Windows.
func defaultShell() []string {
	if runtime.GOOS == "windows" {
		return []string{"cmd", "/C"}
	}
	return []string{"/bin/sh", "-c"}
}

// newProcessGroup does nothing: there are no process groups here.
func newProcessGroup(*exec.Cmd) {}

// killGroup kills only the script itself: there are no process groups
// here. A script that has already exited is no error.
func killGroup(cmd *exec.Cmd) error {
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// keepOpen closes f: here a detached script's output pipe is not kept,
// so its next write fails, as it does in Serf once the agent has exited.
func keepOpen(f *os.File) { f.Close() }
