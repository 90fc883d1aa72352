package systemd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
)

// The network of every container: a veth pair, eth0 in the container's
// namespace and eth0 in its peer's, in a /24 that exists nowhere else.
const (
	peerIP      = "10.98.0.1"
	containerIP = "10.98.0.2"
	prefixLen   = "/24"
)

// Deadlines. A boot takes about a second, a poweroff less; the rest is
// for a loaded machine.
const (
	bootTimeout     = 60 * time.Second
	poweroffTimeout = 30 * time.Second
	commandTimeout  = 60 * time.Second
)

// containerPath is PATH for commands run inside a container.
const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// container is a booted bookworm with systemd as its PID 1. Everything it
// writes goes to a tmpfs (--volatile=overlay), so the cached tree stays
// as debootstrap made it, and each boot starts from it afresh.
type container struct {
	t      *testing.T
	name   string // machine name and hostname, so the agent's node name
	ns     string // the container's network namespace
	peerNS string // the other end of its veth pair
	stage  string // bind-mounted read-only at /stage

	nspawn  *exec.Cmd
	console syncbuf.Buffer
	exited  chan struct{} // closed when systemd-nspawn has exited
	pid1    int           // the container's systemd, as this process sees it
	cgroups []string
}

// boot starts a container named name and waits until its systemd has
// finished starting up. stage lists files (name: source path) put in
// /stage. The container, its cgroups and its namespaces are removed when
// the test ends, however it ends.
func boot(t *testing.T, name string, stage map[string]string) *container {
	t.Helper()
	c := &container{
		t:      t,
		name:   name,
		ns:     "c-" + name,
		peerNS: "p-" + name,
		stage:  t.TempDir(),
		exited: make(chan struct{}),
	}
	for file, src := range stage {
		if err := copyFile(src, filepath.Join(c.stage, file)); err != nil {
			t.Fatalf("stage %s: %v", file, err)
		}
	}
	c.network()

	cgroups, err := makeCgroups(cgroupName(name))
	if err != nil {
		t.Fatal(err)
	}
	c.cgroups = cgroups
	t.Cleanup(c.shutdown)

	// The shell moves itself into the new cgroups, then becomes nspawn.
	script := `echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" || exit 1
shift 2
exec "$@"`
	args := []string{"-c", script, "sh", cgroups[0], cgroups[1],
		"systemd-nspawn", "-q", "-D", tree, "--volatile=overlay", "-M", name,
		"--register=no", "--keep-unit", "--network-namespace-path=/run/netns/" + c.ns,
		"--bind-ro=" + c.stage + ":/stage", "--console=read-only", "-b"}
	c.nspawn = exec.Command("sh", args...)
	c.nspawn.Stdout = &c.console
	c.nspawn.Stderr = &c.console
	// If the test process dies, so does the container (and the sandbox
	// would take it anyway).
	c.nspawn.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := c.nspawn.Start(); err != nil {
		close(c.exited)
		t.Fatalf("start systemd-nspawn: %v", err)
	}
	go func() {
		c.nspawn.Wait()
		close(c.exited)
	}()

	var exitedEarly bool
	err = wait.Until(bootTimeout, func() error {
		select {
		case <-c.exited:
			exitedEarly = true
			return nil
		default:
		}
		if c.pid1 == 0 {
			pid, err := containerInit(c.nspawn.Process.Pid)
			if err != nil {
				return err
			}
			c.pid1 = pid
		}
		out, _ := c.run("systemctl", "is-system-running")
		switch state := strings.TrimSpace(out); state {
		case "running", "degraded", "maintenance", "stopping":
			return nil
		default:
			return fmt.Errorf("systemctl is-system-running = %q", state)
		}
	})
	if exitedEarly {
		err = fmt.Errorf("systemd-nspawn exited: %v", c.nspawn.ProcessState)
	}
	if err != nil {
		t.Fatalf("boot %s: %v\nconsole:\n%s", name, err, tail(c.console.String(), 40))
	}
	if state, _ := c.run("systemctl", "is-system-running"); strings.TrimSpace(state) != "running" {
		failed, _ := c.run("systemctl", "--failed", "--no-legend")
		t.Fatalf("boot %s: systemctl is-system-running = %q, want running; failed units:\n%s",
			name, strings.TrimSpace(state), failed)
	}
	t.Logf("container %s booted in %.2fs", name, time.Since(start).Seconds())
	return c
}

// network creates the container's namespace and its peer's, joined by a
// veth pair.
func (c *container) network() {
	c.t.Helper()
	for _, ns := range []string{c.ns, c.peerNS} {
		// A namespace left by a killed run of the same test.
		exec.Command("ip", "netns", "del", ns).Run()
	}
	steps := [][]string{
		{"netns", "add", c.ns},
		{"netns", "add", c.peerNS},
		{"link", "add", "eth0", "netns", c.ns, "type", "veth", "peer", "name", "eth0", "netns", c.peerNS},
		{"-n", c.ns, "addr", "add", containerIP + prefixLen, "dev", "eth0"},
		{"-n", c.peerNS, "addr", "add", peerIP + prefixLen, "dev", "eth0"},
	}
	for _, ns := range []string{c.ns, c.peerNS} {
		steps = append(steps, []string{"-n", ns, "link", "set", "lo", "up"}, []string{"-n", ns, "link", "set", "eth0", "up"})
	}
	c.t.Cleanup(func() {
		for _, ns := range []string{c.ns, c.peerNS} {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				c.t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
			}
		}
	})
	for _, step := range steps {
		if out, err := exec.Command("ip", step...).CombinedOutput(); err != nil {
			c.t.Fatalf("ip %s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
}

// shutdown powers the container off, kills it if that hangs, and removes
// its cgroups. On failure it first logs what the container's journal and
// console say.
func (c *container) shutdown() {
	if c.t.Failed() && c.pid1 != 0 {
		// Info and above: the tests may have turned systemd's debug log on.
		if out, err := c.run("journalctl", "-b", "--no-pager", "-p", "info", "-n", "100"); err == nil {
			c.t.Logf("container %s journal:\n%s", c.name, out)
		}
		c.t.Logf("container %s console:\n%s", c.name, tail(c.console.String(), 15))
	}
	if c.nspawn != nil && c.nspawn.Process != nil {
		start := time.Now()
		if c.pid1 != 0 {
			// The command may lose its connection as systemd goes down.
			c.run("systemctl", "poweroff")
		} else {
			// SIGRTMIN+4 (34+4 with the C library's SIGRTMIN) asks
			// systemd-nspawn to halt the container.
			c.nspawn.Process.Signal(syscall.Signal(34 + 4))
		}
		select {
		case <-c.exited:
			c.t.Logf("container %s powered off in %.2fs", c.name, time.Since(start).Seconds())
		case <-time.After(poweroffTimeout):
			c.t.Errorf("container %s did not power off within %v; killing it", c.name, poweroffTimeout)
			if c.pid1 != 0 {
				// The kernel kills everything in the container's PID
				// namespace with its init.
				syscall.Kill(c.pid1, syscall.SIGKILL)
			}
			c.nspawn.Process.Kill()
			<-c.exited
		}
	}
	// The last processes of the container may take a moment to be reaped.
	if err := wait.Until(10*time.Second, func() error { return removeCgroups(c.cgroups) }); err != nil {
		c.t.Errorf("remove cgroups of %s: %v", c.name, err)
	}
}

// containerInit finds the container's PID 1: the child of systemd-nspawn
// that is PID 1 in its own PID namespace.
func containerInit(nspawn int) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var ppid int
		var nspid []string
		for _, line := range strings.Split(string(status), "\n") {
			key, value, _ := strings.Cut(line, ":")
			switch key {
			case "PPid":
				ppid, _ = strconv.Atoi(strings.TrimSpace(value))
			case "NSpid":
				nspid = strings.Fields(value)
			}
		}
		if ppid == nspawn && len(nspid) > 1 && nspid[len(nspid)-1] == "1" {
			return pid, nil
		}
	}
	return 0, errors.New("the container's init has not started yet")
}

// command prepares name args... to run inside the container, in all its
// namespaces, with a clean environment.
func (c *container) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	all := []string{"-t", strconv.Itoa(c.pid1), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--",
		"/usr/bin/env", "-i", "PATH=" + containerPath, "LANG=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=",
		name}
	return exec.CommandContext(ctx, "nsenter", append(all, args...)...)
}

// run runs a command inside the container and returns its combined
// output; a non-zero exit is an error wrapping *exec.ExitError.
func (c *container) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := c.command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// must is run that fails the test on an error.
func (c *container) must(name string, args ...string) string {
	c.t.Helper()
	out, err := c.run(name, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// sh runs a shell script inside the container.
func (c *container) sh(script string) string {
	c.t.Helper()
	return c.must("/bin/sh", "-ec", script)
}

// writeFile writes a file inside the container, creating its directory.
func (c *container) writeFile(path, content string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := c.command(ctx, "/bin/sh", "-ec", `mkdir -p "$(dirname "$1")"; cat > "$1"`, "sh", path)
	cmd.Stdin = strings.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("write %s in the container: %v\n%s", path, err, out)
	}
}

// show returns the unit's properties, as systemctl show reports them.
func (c *container) show(unit string, props ...string) map[string]string {
	c.t.Helper()
	out := c.must("systemctl", "show", "-p", strings.Join(props, ","), unit)
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if key, value, ok := strings.Cut(line, "="); ok {
			m[key] = value
		}
	}
	return m
}

// journalMark returns the cursor of the journal's last entry, for
// journal to read what comes after it.
func (c *container) journalMark() string {
	c.t.Helper()
	out := c.must("journalctl", "-n", "0", "--show-cursor", "--no-pager")
	for _, line := range strings.Split(out, "\n") {
		if cursor, ok := strings.CutPrefix(line, "-- cursor: "); ok {
			return cursor
		}
	}
	c.t.Fatalf("journalctl -n 0 --show-cursor printed no cursor:\n%s", out)
	return ""
}

// journal returns the messages journalctl -u shows for the unit, after
// the mark when there is one.
func (c *container) journal(unit, mark string) []string {
	c.t.Helper()
	args := []string{"-u", unit, "-o", "cat", "--no-pager"}
	if mark != "" {
		args = append(args, "--after-cursor="+mark)
	}
	out, err := c.run("journalctl", args...)
	if strings.TrimSpace(out) == "-- No entries --" {
		// journalctl exits 1 when nothing matches.
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(out, "\n"), "\n")
}

// waitJournal waits until journalctl -u serf, after mark, has a line
// containing each of want; when it gives up, it shows where the agent's
// lines went instead. step names the check in the failure.
func (c *container) waitJournal(step, mark string, want ...string) {
	c.t.Helper()
	err := wait.Until(unitTimeout, func() error {
		lines := c.journal("serf", mark)
		for _, w := range want {
			if !hasLine(lines, w) {
				return fmt.Errorf("%s: journalctl -u serf lacks %q; it has:\n%s", step, w, strings.Join(lines, "\n"))
			}
		}
		return nil
	})
	if err != nil {
		// Where the agent's lines went instead.
		args := []string{"--no-pager", "-o", "verbose", "_COMM=serf"}
		if mark != "" {
			args = append(args, "--after-cursor="+mark)
		}
		out, _ := c.run("journalctl", args...)
		var fields []string
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "_SYSTEMD_UNIT=") || strings.HasPrefix(line, "MESSAGE=") || strings.HasPrefix(line, "_PID=") {
				fields = append(fields, line)
			}
		}
		c.t.Fatalf("%v\nthe agent's lines in the journal:\n%s", err, strings.Join(fields, "\n"))
	}
}

// mainPID is the serf unit's MainPID, 0 when it has none.
func (c *container) mainPID() int {
	c.t.Helper()
	pid, err := strconv.Atoi(c.show("serf", "MainPID")["MainPID"])
	if err != nil {
		c.t.Fatalf("MainPID: %v", err)
	}
	return pid
}

// copyFile copies src to dst, keeping its mode.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hasLine reports whether any line contains want.
func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}
