package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// engine is a Docker engine, reached through the docker client.
type engine struct {
	client string   // path of the docker client
	env    []string // environment of every docker command
}

// dockerTimeout bounds every docker command, so that a hung engine fails
// the test instead of stalling it until go test's own timeout.
const dockerTimeout = 2 * time.Minute

// run runs the docker client with stdin (nil for none) and returns its
// standard output, trimmed; the error carries its standard error.
func (e *engine) run(timeout time.Duration, stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.client, args...)
	cmd.Env = e.env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %w: %s",
			strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// docker runs the client and returns its output.
func (e *engine) docker(args ...string) (string, error) {
	return e.run(dockerTimeout, nil, args...)
}

// must runs the client and fails the test if it fails.
func (e *engine) must(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := e.docker(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// newEngine returns the Docker engine the test runs against: the one that
// already answers, or else, with SERF_DOCKER=1, one of the test's own.
// Without SERF_DOCKER=1 the test skips when it lacks root, a docker client
// or a running engine; with it, any of those missing fails the test.
func newEngine(t *testing.T) *engine {
	t.Helper()
	forced := os.Getenv("SERF_DOCKER") == "1"
	lack := func(what string) {
		t.Helper()
		if forced {
			t.Fatalf("SERF_DOCKER=1, but %s", what)
		}
		t.Skipf("%s; SERF_DOCKER=1 (make integration) starts an engine of its own", what)
	}
	if os.Geteuid() != 0 {
		lack("the Docker tests need root")
	}
	client, err := exec.LookPath("docker")
	if err != nil {
		lack("no docker client (Debian package docker.io)")
	}
	// DOCKER_BUILDKIT=0: newer clients hand builds to buildx, which
	// Debian's engine does not have; the classic builder is enough here.
	e := &engine{client: client, env: append(os.Environ(), "DOCKER_BUILDKIT=0")}
	if version, err := e.run(10*time.Second, nil, "version", "--format", "{{.Server.Version}}"); err == nil {
		t.Logf("using the Docker engine that runs already (%s)", version)
		return e
	}
	if !forced {
		lack("no Docker engine answers")
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		lack("no dockerd (Debian package docker.io)")
	}
	startDockerd(t, e, dockerd)
	return e
}

// dockerdShell runs as PID 1 of the engine's own PID, mount and network
// namespaces, and then becomes dockerd. /proc must show that PID
// namespace (containerd and runc look processes up there); the tmpfs on
// /run keeps dockerd's run-time files, its plugin directory among them, off
// the machine's /run, and hides a system containerd's socket, which
// dockerd would otherwise use instead of starting its own.
const dockerdShell = `set -e
mount -t proc proc /proc
mount -t tmpfs tmpfs /run
exec "$@"`

// startDockerd starts a Docker engine of the test's own and points e at
// it. Everything the engine does stays in namespaces of its own: its
// bridges, iptables rules (ip_forward, a FORWARD policy of DROP, NAT) and
// mounts vanish with it, and the machine's network, where the other
// integration tests run, is never touched. Its files live in a temporary
// directory, its containers' cgroups under a parent of its own, removed at
// the end. It is stopped by PID (SIGTERM, SIGKILL after 30 s); if the test
// process dies first, the kernel kills it (Pdeathsig), and with it every
// process in its PID namespace.
func startDockerd(t *testing.T, e *engine, dockerd string) {
	t.Helper()
	removeStaleEngines(t)
	// A short path: the engine's sockets live under it, and a socket path
	// must fit in 108 bytes.
	dir, err := os.MkdirTemp("", dockerdDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	// The owner's PID tells a later run whether the files are stale.
	check(t, os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644))
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the engine's files: %v", err)
		}
	})
	cgroupParent := filepath.Base(dir)
	t.Cleanup(func() { removeCgroups(t, cgroupParent) })

	// The daemon's configuration is ours alone (not /etc/docker's), and it
	// keeps the engine's identity key out of /etc/docker.
	config := filepath.Join(dir, "daemon.json")
	conf, err := json.Marshal(map[string]string{"deprecated-key-path": filepath.Join(dir, "key.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "dockerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	sock := filepath.Join(dir, "docker.sock")
	cmd := exec.Command("/bin/sh", "-c", dockerdShell, "sh", dockerd,
		"--config-file", config,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://"+sock,
		"--cgroup-parent", "/"+cgroupParent,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		start := time.Now()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		var err error
		select {
		case err = <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("dockerd (pid %d) did not stop on SIGTERM within 30 s; killing it", cmd.Process.Pid)
			_ = cmd.Process.Kill()
			err = <-exited
		}
		if err != nil {
			t.Errorf("dockerd exited with %v\n%s", err, tail(logPath, 30))
		}
		t.Logf("dockerd stopped in %.1f s", time.Since(start).Seconds())
		if t.Failed() {
			t.Logf("dockerd log (last lines):\n%s", tail(logPath, 30))
		}
	})

	e.env = append(e.env, "DOCKER_HOST=unix://"+sock)
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("dockerd exited: %v\n%s", err, tail(logPath, 30))
		default:
		}
		version, err := e.run(10*time.Second, nil, "version", "--format", "{{.Server.Version}}")
		if err == nil {
			t.Logf("started dockerd %s (pid %d) in %.1f s", version, cmd.Process.Pid, time.Since(start).Seconds())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd does not answer after 60 s: %v\n%s", err, tail(logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dockerdDirPrefix names the temporary directories of the engines the
// tests start, and their cgroup parents.
const dockerdDirPrefix = "serf-dockerd-"

// removeStaleEngines removes what engines of earlier runs left behind when
// their test process was killed (the kernel ended the engines themselves):
// their files and their empty cgroup parents. A directory whose owner
// still runs is left alone.
func removeStaleEngines(tb testing.TB) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dockerdDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		tb.Logf("removing the files of a Docker engine left by an earlier run: %s", dir)
		removeCgroups(tb, filepath.Base(dir))
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("removing %s: %v", dir, err)
		}
	}
}

// removeCgroups removes the cgroup directories named parent, and those
// below them, from every hierarchy. The engine removes its containers'
// cgroups but not the parent it made.
func removeCgroups(tb testing.TB, parent string) {
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
	if root := filepath.Join("/sys/fs/cgroup", parent); isDir(root) {
		roots = append(roots, root)
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		// Deepest first: a cgroup goes only once its children have.
		slices.Reverse(dirs)
		for _, dir := range dirs {
			if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
				tb.Errorf("removing cgroup %s: %v", dir, err)
			}
		}
	}
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// staticBusybox returns the path of a statically linked busybox (Debian's
// busybox-static), which runs in an image that has nothing else.
func staticBusybox() (string, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("no busybox (Debian package busybox-static)")
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is linked dynamically (install busybox-static)", path)
		}
	}
	return path, nil
}

// importBusybox makes a busybox base image, tagged tag, out of the
// machine's static busybox: no registry is needed. Like Docker's own
// busybox image it has a symlink per applet in /bin, a /tmp, and sh as its
// command.
func importBusybox(t *testing.T, e *engine, busybox, tag string) {
	t.Helper()
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, dir := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}, {"var/", 0o755}} {
		check(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir.name, Mode: dir.mode, ModTime: now}))
	}
	check(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin)), ModTime: now}))
	_, err = tw.Write(bin)
	check(t, err)
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		check(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: now}))
	}
	check(t, tw.Close())
	if _, err := e.run(dockerTimeout, &buf, "import", "--change", `CMD ["sh"]`, "-", tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.removeImage(t, tag) })
}

// removeImage removes an image tag the test made.
func (e *engine) removeImage(tb testing.TB, tag string) {
	if _, err := e.docker("rmi", "--force", tag); err != nil {
		tb.Errorf("removing image %s: %v", tag, err)
	}
}

// buildSerf builds a static serf binary (the image has no C library) to
// path.
func buildSerf(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", path, "../../cmd/serf")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// build builds an image from dockerfile with context dir and returns its
// tag; it is removed at the end of the test.
func (e *engine) build(t *testing.T, tag, dockerfile, dir string, args ...string) {
	t.Helper()
	cmdline := []string{"build", "--quiet", "--tag", tag, "--file", dockerfile}
	for _, arg := range args {
		cmdline = append(cmdline, "--build-arg", arg)
	}
	e.must(t, append(cmdline, dir)...)
	t.Cleanup(func() { e.removeImage(t, tag) })
}
