//go:build !linux

package oracle

import "os/exec"

// setDeathSignal does nothing here: only Linux has a parent-death signal.
// Agents are still killed by the test's cleanup.
func setDeathSignal(*exec.Cmd) {}
