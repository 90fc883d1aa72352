package agentproc

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Process is a started command and the goroutine that waits for it, which
// ends when the command does.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the command has been waited for
	exitErr error         // set before exited is closed
}

// StartProcess starts cmd, which the caller has prepared (its output, its
// directory, its SysProcAttr), and watches for its exit.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited, for whatever reason.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Running reports whether the process has not exited yet. It reads the
// same channel as Exited, so that once it says no, Exited is closed: a
// wait that saw the process gone and then looked at Exited found it
// still open, and a failed configuration's exit was taken for a hang.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ExitErr waits for the process to exit and returns what exec.Cmd.Wait
// returned: nil for exit status 0.
func (p *Process) ExitErr() error {
	<-p.exited
	return p.exitErr
}

// Wait waits at most timeout for the process to exit and returns its exit
// code, -1 when a signal killed it.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	if p.Running() {
		select {
		case <-p.exited:
		case <-time.After(timeout):
			return 0, fmt.Errorf("pid %d still running after %v", p.Pid(), timeout)
		}
	}
	var ee *exec.ExitError
	if p.exitErr != nil && !errors.As(p.exitErr, &ee) {
		return 0, fmt.Errorf("wait for pid %d: %w", p.Pid(), p.exitErr)
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// Signal sends sig to the process alone.
func (p *Process) Signal(sig syscall.Signal) error {
	return syscall.Kill(p.Pid(), sig)
}

// SignalGroup sends sig to the process group the process leads, which it
// has when it was started with Setpgid: the event handler scripts it runs
// get the signal too. It does not wait, so a signal handler may call it.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	return syscall.Kill(-p.Pid(), sig)
}

// Kill sends SIGKILL to the process, as a crash would, unless it has
// already exited, and waits for it.
func (p *Process) Kill() {
	if p.Running() {
		_ = p.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// KillGroup sends SIGKILL to the process group the process leads, if any,
// and waits up to timeout until no member of it runs: the event handler
// scripts of an agent that does not give them groups of their own (real
// Serf) are in it, and one still appending to a file in a test's
// temporary directory makes the directory's removal fail. Zombies do not
// count, as nothing may reap an orphan here.
func (p *Process) KillGroup(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for syscall.Kill(-p.Pid(), syscall.SIGKILL) == nil && groupRuns(p.Pid()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the process gently: SIGTERM, then SIGKILL if it is still
// there after grace. It waits for the exit.
func (p *Process) Stop(grace time.Duration) {
	if !p.Running() {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
}
