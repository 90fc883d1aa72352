package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// envSandbox marks a process that already runs inside the sandbox.
const envSandbox = "SERF_NETNS_SANDBOX"

// InSandbox reports whether this process runs inside Sandbox's namespaces.
func InSandbox() bool {
	return os.Getenv(envSandbox) == "1"
}

// Sandbox re-executes the running program (a test binary, from its
// TestMain) inside fresh network, mount and PID namespaces and returns its
// exit code; ok is false when this process already is the sandboxed one,
// and the caller should go on and run its tests.
//
// The sandbox makes cleanup certain: the lab's namespaces hang off a
// private /run/netns and its processes live in their own PID namespace, so
// when the sandboxed program ends in any way — a failed test, a panic, a
// go test timeout, kill -9 of the parent — the kernel kills every agent
// and handler it started and frees every namespace, bridge and rule.
// Nothing is created in the machine's namespaces even while it runs.
//
// Work that needs the outside world (building binaries, downloading
// oracles) must be done before calling Sandbox: its network namespace
// has no way out.
func Sandbox() (code int, ok bool, err error) {
	if InSandbox() {
		return 0, false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return 1, true, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return 1, true, errors.New("unshare not found (Debian: util-linux)")
	}
	// Inside: a private mount namespace, a tmpfs on /run/netns so that
	// "ip netns add" mounts nothing outside, and the program itself.
	script := `set -e
mount --make-rprivate /
mkdir -p /run/netns
mount -t tmpfs -o mode=0755 tmpfs /run/netns
exec "$@"`
	args := []string{
		"--net", "--mount", "--pid", "--fork", "--mount-proc",
		// The namespace's init dies with unshare, and takes everything
		// inside with it.
		"--kill-child=SIGKILL",
		"sh", "-c", script, "sandbox", self,
	}
	args = append(args, os.Args[1:]...)
	cmd := exec.Command(unshare, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envSandbox+"=1")
	// If this process dies, unshare dies too, and with it the sandbox.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), true, nil
	}
	if err != nil {
		return 1, true, fmt.Errorf("run sandbox: %w", err)
	}
	return 0, true, nil
}
