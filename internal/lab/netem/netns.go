//go:build linux

package netem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// NetnsDir is where iproute2 keeps the named network namespaces that
// `ip netns add` creates.
const NetnsDir = "/var/run/netns"

// InNetns runs fn on the calling goroutine with its OS thread switched into
// the network namespace name (a file in NetnsDir), then switches the thread
// back. Sockets fn opens belong to that namespace for their whole life, so
// fn can open them and hand them to other goroutines. Goroutines fn starts
// do not run in the namespace.
//
// The thread is locked for the duration. Should switching back fail, the
// thread stays locked, so the runtime ends it when the goroutine exits
// instead of reusing it in the wrong namespace.
func InNetns(name string, fn func() error) error {
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return fmt.Errorf("network namespace name %q: not a plain name", name)
	}
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current network namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join(NetnsDir, name))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open network namespace: %w", err)
	}
	err = setns(target, syscall.CLONE_NEWNET)
	target.Close()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", name, err)
	}
	fnErr := fn()
	if err := setns(orig, syscall.CLONE_NEWNET); err != nil {
		// Leave the thread locked: see above.
		return errors.Join(fnErr, fmt.Errorf("leave network namespace %s: %w", name, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// setns moves the calling thread into the namespace f refers to.
func setns(f *os.File, nstype int) error {
	_, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), uintptr(nstype), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
