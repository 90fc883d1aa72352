//go:build linux

package event

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errWatchStopped is what exitWatch.wait returns after stop.
var errWatchStopped = errors.New("stopped watching the script's exit")

// exitWatch tells when a started script has exited, without reaping it,
// in a way that can be stopped: a pidfd in the runtime's poller, which
// becomes readable when the process exits. (A goroutine blocked in
// Process.Wait cannot be stopped before the script ends.)
type exitWatch struct {
	f *os.File
}

// watchExit returns a watch on p, which must be a child of this process
// that has not been waited for. It fails on kernels before 5.3 (or where
// pidfd_open is not allowed); the caller then waits the blocking way.
func watchExit(p *os.Process) (*exitWatch, error) {
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	// Non-blocking, so that os.NewFile puts it in the poller.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("pidfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	// Only a file in the poller takes a deadline, which stop needs.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfd: %w", err)
	}
	return &exitWatch{f: f}, nil
}

// wait blocks until the process has exited (nil; it is left to be
// reaped by Process.Wait) or stop is called (errWatchStopped).
func (w *exitWatch) wait() error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	var waitErr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			var info unix.Siginfo
			waitErr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			if waitErr == unix.EINTR {
				continue
			}
			// With WNOHANG, a process that has not exited leaves
			// info zeroed; an exited one fills in SIGCHLD.
			return waitErr != nil || info.Signo != 0
		}
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errWatchStopped
	}
	if err != nil {
		return err
	}
	return waitErr
}

// stop makes a wait under way, or the next one, return errWatchStopped.
func (w *exitWatch) stop() { _ = w.f.SetReadDeadline(time.Now()) }

// close releases the pidfd, once no wait is under way.
func (w *exitWatch) close() { w.f.Close() }
