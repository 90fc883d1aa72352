package docker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Deadlines of the waits. A failure takes the lan profile's probe and
// suspicion time (about 5 s with three members); the rest take a second
// or two.
const (
	formTimeout    = 30 * time.Second
	leaveTimeout   = 15 * time.Second
	failTimeout    = 30 * time.Second
	restartTimeout = 30 * time.Second
)

func TestDocker(t *testing.T) {
	e := newEngine(t)
	busybox, err := staticBusybox()
	if err != nil {
		if os.Getenv("SERF_DOCKER") == "1" {
			t.Fatalf("SERF_DOCKER=1, but %v", err)
		}
		t.Skip(err)
	}
	prefix := fmt.Sprintf("serftest-%d", os.Getpid())
	base := prefix + "-busybox:local"
	importBusybox(t, e, busybox, base)
	serf := filepath.Join(t.TempDir(), "serf")
	buildSerf(t, serf)

	t.Run("OurImage", func(t *testing.T) {
		t.Parallel()
		testOurImage(t, e, prefix+"-ours", base, serf)
	})
	t.Run("SeedImage", func(t *testing.T) {
		t.Parallel()
		testSeedImage(t, e, prefix+"-seed", base, serf)
	})
}

// testOurImage builds scripts/docker/Dockerfile on the busybox base and
// runs three containers that find each other by mDNS. Then: a command
// that ends, docker stop, docker kill -s INT: each time the others see
// the node left and the container exits with the command's status, a
// stop well within the grace period; docker kill -s KILL: failed;
// docker start and docker restart: alive again.
func testOurImage(t *testing.T, e *engine, prefix, base, serf string) {
	// The build context has the repository's layout, as the Dockerfile
	// expects (it is built from the root after make build).
	dir := t.TempDir()
	copyFile(t, serf, filepath.Join(dir, "bin", "serf"), 0o755)
	copyFile(t, "entry-point.sh", filepath.Join(dir, "scripts", "docker", "entry-point.sh"), 0o755)
	dockerfile, err := filepath.Abs("Dockerfile")
	check(t, err)
	image := prefix + ":test"
	e.build(t, image, dockerfile, dir, "BASE="+base)

	l := newLab(t, e, prefix)
	env := []string{"SERF_AGENT_OPT=-discover=" + strings.ReplaceAll(prefix, "-", "")}
	// serf1 watches. Its command leaves an orphan behind, which the kernel
	// hands to PID 1, the entry point, to reap.
	watcher := l.start("serf1", image, env, "sh", "-c",
		`(sh -c 'until [ -e /tmp/reap ]; do usleep 20000; done' &); exec sleep 3600`)
	// serf2's command ends, with status 7, when /tmp/done appears.
	ender := l.start("serf2", image, env, "sh", "-c",
		`rm -f /tmp/done; until [ -e /tmp/done ]; do usleep 20000; done; exit 7`)
	// serf3's command is the one of the Compose example in
	// docs/operations.md: it shows the agent's log as the container's.
	stopped := l.start("serf3", image, env, "tail", "-n", "+1", "-F", "/var/log/serf.log")
	all := []string{watcher, ender, stopped}
	allAlive := map[string]string{"serf1": "alive", "serf2": "alive", "serf3": "alive"}

	start := time.Now()
	for _, c := range all {
		waitFor(t, formTimeout, l.sees(c, allAlive))
	}
	figure(t, "cluster formed by -discover (three containers)", time.Since(start))

	t.Run("Reap", func(t *testing.T) {
		orphan := waitForValue(t, 10*time.Second, func() (procStat, error) {
			return l.orphan(watcher)
		})
		l.must(t, "exec", watcher, "touch", "/tmp/reap")
		waitFor(t, 10*time.Second, func() error {
			procs, err := l.procs(watcher)
			if err != nil {
				return err
			}
			for _, p := range procs {
				if p.pid == orphan.pid {
					return fmt.Errorf("the orphan (pid %d) is still there, state %s: PID 1 does not reap it", p.pid, p.state)
				}
			}
			return nil
		})
	})

	t.Run("CommandEnds", func(t *testing.T) {
		l.settle(t, all...)
		start := time.Now()
		l.must(t, "exec", ender, "touch", "/tmp/done")
		waitFor(t, leaveTimeout, l.sees(watcher, map[string]string{"serf2": "left"}))
		figure(t, "command ended -> peers see left", time.Since(start))
		l.wantExit(t, ender, 7)
		l.wantLog(t, ender, "==> Gracefully shutting down agent...")
	})

	t.Run("Stop", func(t *testing.T) {
		l.settle(t, all...)
		start := time.Now()
		l.must(t, "stop", stopped) // Docker's default grace period
		took := time.Since(start)
		figure(t, "docker stop (grace period 10 s)", took)
		if took >= stopBudget {
			t.Errorf("docker stop took %v, want less than %v of the %v grace period", took, stopBudget, gracePeriod)
		}
		waitFor(t, leaveTimeout, l.sees(watcher, map[string]string{"serf3": "left"}))
		figure(t, "docker stop -> peers see left", time.Since(start))
		// tail, killed by the SIGTERM passed on to it.
		l.wantExit(t, stopped, 143)
		l.wantLog(t, stopped, "==> Gracefully shutting down agent...")
		if logs := l.must(t, "logs", stopped); !strings.Contains(logs, "==> Serf agent running!") {
			t.Errorf("docker logs of the tail -F container lack the agent's banner:\n%s", logs)
		}
	})

	t.Run("Start", func(t *testing.T) {
		start := time.Now()
		l.must(t, "start", ender, stopped)
		for _, c := range all {
			waitFor(t, restartTimeout, l.sees(c, allAlive))
		}
		figure(t, "docker start of two stopped containers -> alive again", time.Since(start))
	})

	t.Run("Kill", func(t *testing.T) {
		l.kill(t, "KILL", stopped, watcher, "serf3", "failed", failTimeout, 137)
	})

	t.Run("Restart", func(t *testing.T) {
		// The killed container first, then again while it runs: a stop
		// (graceful, so well within the grace period) and a start. Docker
		// gives a container that starts again the lowest free address of
		// the network; with serf2 still running that is serf3's own, which
		// matters: peers refuse a failed node that comes back at another
		// address for a while (see docs/operations.md).
		for _, what := range []string{"after kill", "while running"} {
			start := time.Now()
			l.must(t, "restart", stopped)
			took := time.Since(start)
			figure(t, "docker restart "+what, took)
			if took >= stopBudget {
				t.Errorf("docker restart %s took %v, want less than %v", what, took, stopBudget)
			}
			// The new agent has joined (it sees the watcher) and the
			// watcher sees it.
			waitFor(t, restartTimeout, l.sees(stopped, map[string]string{"serf1": "alive"}))
			waitFor(t, restartTimeout, l.sees(watcher, map[string]string{"serf3": "alive"}))
			figure(t, "docker restart "+what+" -> alive again", time.Since(start))
		}
	})

	t.Run("Interrupt", func(t *testing.T) {
		l.settle(t, all...)
		// The command, a shell started in the background, ignores SIGINT;
		// the entry point gives it SIGTERM instead, so it exits 143.
		l.kill(t, "INT", ender, watcher, "serf2", "left", leaveTimeout, 143)
	})

	t.Run("Stdin", func(t *testing.T) {
		// The command reads the container's standard input, although the
		// entry point runs it in the background.
		name := l.name("stdin")
		out, err := e.run(dockerTimeout, strings.NewReader("hello from stdin\n"), "run", "--interactive",
			"--name", name, "--network", l.network, "--env", "SERF_AGENT_OPT=-node=stdin", image, "cat")
		if err != nil {
			t.Fatal(err)
		}
		if out != "hello from stdin" {
			t.Errorf("cat in the container printed %q, want %q", out, "hello from stdin")
		}
		l.wantLog(t, name, "==> Gracefully shutting down agent...")
	})
}

// testSeedImage builds the guide's Dockerfile and entry point, verbatim,
// with our binary, and shows what they do: the containers find each other
// by -discover, a command that ends leaves gracefully; but docker stop
// takes the whole grace period and the agent dies by SIGKILL (peers see
// failed), and so does the agent of a command that ends with an error
// (set -e ends the script before its kill). docs/operations.md says so.
func testSeedImage(t *testing.T, e *engine, prefix, base, serf string) {
	dir := t.TempDir()
	copyFile(t, filepath.Join("testdata", "seed", "Dockerfile"), filepath.Join(dir, "Dockerfile"), 0o644)
	copyFile(t, filepath.Join("testdata", "seed", "files", "entry-point.sh"), filepath.Join(dir, "files", "entry-point.sh"), 0o644)
	copyFile(t, serf, filepath.Join(dir, "files", "serf"), 0o644)
	// The guide's FROM busybox: the engine's own busybox image if it has
	// one, else ours under that name.
	if _, err := e.docker("image", "inspect", "busybox:latest"); err != nil {
		e.must(t, "tag", base, "busybox:latest")
		t.Cleanup(func() { e.removeImage(t, "busybox:latest") })
	}
	image := prefix + ":test"
	e.build(t, image, filepath.Join(dir, "Dockerfile"), dir)

	l := newLab(t, e, prefix)
	// The guide's entry point sets -discover=container01 itself; the
	// network is the test's own, so only these containers answer.
	watcher := l.start("seed1", image, nil, "sleep", "3600")
	ender := l.start("seed2", image, nil, "sh", "-c", `until [ -e /tmp/done ]; do usleep 20000; done`)
	stopped := l.start("seed3", image, nil, "sleep", "3600")
	failing := l.start("seed4", image, nil, "sh", "-c", `until [ -e /tmp/done ]; do usleep 20000; done; exit 3`)
	// seed5 only confirms the others' suspicions, which shortens the time
	// to declare a member failed.
	witness := l.start("seed5", image, nil, "sleep", "3600")
	all := map[string]string{"seed1": "alive", "seed2": "alive", "seed3": "alive", "seed4": "alive", "seed5": "alive"}

	start := time.Now()
	for _, c := range []string{watcher, ender, stopped, failing, witness} {
		waitFor(t, formTimeout, l.sees(c, all))
	}
	figure(t, "seed: cluster formed by -discover (five containers)", time.Since(start))

	// Its flaws, side by side: a stop, with a short grace period to keep
	// the test short (the default is 10 s), and a command that fails.
	const grace = 3 * time.Second
	l.must(t, "exec", failing, "touch", "/tmp/done")
	start = time.Now()
	l.must(t, "stop", "--time", strconv.Itoa(int(grace/time.Second)), stopped)
	took := time.Since(start)
	figure(t, "seed: docker stop (grace period 3 s)", took)
	if took < grace-100*time.Millisecond {
		t.Errorf("docker stop of the seed's container took %v, want the whole %v grace period", took, grace)
	}
	l.wantExit(t, stopped, 137) // SIGKILL
	l.wantExit(t, failing, 3)
	waitFor(t, failTimeout, l.sees(watcher, map[string]string{"seed3": "failed", "seed4": "failed"}))
	figure(t, "seed: docker stop and a failed command -> peers see failed", time.Since(start))

	start = time.Now()
	l.must(t, "exec", ender, "touch", "/tmp/done")
	waitFor(t, leaveTimeout, l.sees(watcher, map[string]string{"seed2": "left"}))
	figure(t, "seed: command ended -> peers see left", time.Since(start))
	l.wantExit(t, ender, 0)
}

// lab is one test's containers, on a Docker network of their own.
type lab struct {
	*engine
	t       *testing.T
	prefix  string
	network string

	namesLock sync.Mutex
	names     []string // containers made
}

// newLab creates the network. At the end the containers are removed, and
// then the network; on failure every container's state, output and agent
// log is printed first.
func newLab(t *testing.T, e *engine, prefix string) *lab {
	t.Helper()
	l := &lab{engine: e, t: t, prefix: prefix, network: prefix + "-net"}
	e.must(t, "network", "create", l.network)
	t.Cleanup(func() {
		if _, err := e.docker("network", "rm", l.network); err != nil {
			t.Errorf("removing network %s: %v", l.network, err)
		}
	})
	t.Cleanup(func() {
		l.namesLock.Lock()
		names := l.names
		l.namesLock.Unlock()
		if t.Failed() {
			for _, name := range names {
				l.dump(name)
			}
		}
		if len(names) > 0 {
			if _, err := e.docker(append([]string{"rm", "--force", "--volumes"}, names...)...); err != nil {
				t.Errorf("removing containers: %v", err)
			}
		}
	})
	return l
}

// name returns the name of the lab's container host and records it for
// removal.
func (l *lab) name(host string) string {
	name := l.prefix + "-" + host
	l.namesLock.Lock()
	l.names = append(l.names, name)
	l.namesLock.Unlock()
	return name
}

// start runs a container whose hostname, and so agent name, is host.
func (l *lab) start(host, image string, env []string, cmd ...string) string {
	l.t.Helper()
	name := l.name(host)
	args := []string{"run", "--detach", "--name", name, "--hostname", host, "--network", l.network}
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	l.must(l.t, append(append(args, image), cmd...)...)
	return name
}

// members returns the status of each member as the agent in container
// sees it, through `serf members -format=json` there.
func (l *lab) members(container string) (map[string]string, error) {
	out, err := l.docker("exec", container, "serf", "members", "-format=json")
	if err != nil {
		return nil, err
	}
	var resp struct {
		Members []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		return nil, fmt.Errorf("serf members in %s: %w: %s", container, err, out)
	}
	status := make(map[string]string, len(resp.Members))
	for _, m := range resp.Members {
		status[m.Name] = m.Status
	}
	return status, nil
}

// sees is a condition: the agent in container sees each member of want
// with its status.
func (l *lab) sees(container string, want map[string]string) func() error {
	return func() error {
		got, err := l.members(container)
		if err != nil {
			return err
		}
		for name, status := range want {
			if got[name] != status {
				return fmt.Errorf("%s sees members %v, want %v", container, got, want)
			}
		}
		return nil
	}
}

// wantExit waits for container to have stopped and checks its exit code.
func (l *lab) wantExit(t *testing.T, container string, want int) {
	t.Helper()
	out, err := l.run(30*time.Second, nil, "wait", container)
	if err != nil {
		t.Fatal(err)
	}
	if out != strconv.Itoa(want) {
		t.Errorf("exit code of %s = %s, want %d", container, out, want)
	}
}

// joinSyncWindow is how long after a join our agents may still push/pull
// their state with a member they pick (serf/join_sync.go: rounds 0.4 s
// and then 0.8 s apart, 1 s and 1.6 s on a machine short of CPU). A
// push/pull that carries a leaving member's state to a peer
// before its leave intent does makes that peer declare the member failed
// rather than left; see docs/operations.md. The graceful leaves this
// test asserts are made after the window.
const joinSyncWindow = 5 * time.Second

// kill sends sig to container with docker kill and waits until watcher
// sees node, the container's agent, in status; it reports the time that
// took and checks that the container exited with code exit.
func (l *lab) kill(t *testing.T, sig, container, watcher, node, status string, timeout time.Duration, exit int) {
	t.Helper()
	start := time.Now()
	l.must(t, "kill", "--signal", sig, container)
	waitFor(t, timeout, l.sees(watcher, map[string]string{node: status}))
	figure(t, "docker kill -s "+sig+" -> peers see "+status, time.Since(start))
	l.wantExit(t, container, exit)
}

// settle waits until each of containers has run for joinSyncWindow.
func (l *lab) settle(t *testing.T, containers ...string) {
	t.Helper()
	waitFor(t, 2*joinSyncWindow, func() error {
		for _, c := range containers {
			out, err := l.docker("inspect", "--format", "{{.State.StartedAt}}", c)
			if err != nil {
				return err
			}
			started, err := time.Parse(time.RFC3339Nano, out)
			if err != nil {
				return fmt.Errorf("start time of %s: %w", c, err)
			}
			if age := time.Since(started); age < joinSyncWindow {
				return fmt.Errorf("%s has run for %v, less than %v", c, age.Round(time.Millisecond), joinSyncWindow)
			}
		}
		return nil
	})
}

// agentLog returns the agent's log, /var/log/serf.log, of container,
// running or not.
func (l *lab) agentLog(container string) (string, error) {
	dir, err := os.MkdirTemp("", "serf-log-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	dst := filepath.Join(dir, "serf.log")
	if _, err := l.docker("cp", container+":/var/log/serf.log", dst); err != nil {
		return "", err
	}
	b, err := os.ReadFile(dst)
	return string(b), err
}

// wantLog checks that the agent's log of container has line.
func (l *lab) wantLog(t *testing.T, container, line string) {
	t.Helper()
	l.wantLogCount(t, container, line, 1)
}

// wantLogCount checks that the agent's log of container has text at
// least n times.
func (l *lab) wantLogCount(t *testing.T, container, text string, n int) {
	t.Helper()
	log, err := l.agentLog(container)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(log, text); got < n {
		t.Errorf("agent log of %s has %q %d times, want at least %d:\n%s", container, text, got, n, log)
	}
}

// procStat is a line of /proc/PID/stat, in part.
type procStat struct {
	pid, ppid   int
	comm, state string
}

// procs lists the processes in container.
func (l *lab) procs(container string) ([]procStat, error) {
	out, err := l.docker("exec", container, "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null")
	// cat fails when a process ends while it runs; the others are read.
	if out == "" && err != nil {
		return nil, err
	}
	var procs []procStat
	for _, line := range strings.Split(out, "\n") {
		open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || closing < open {
			continue
		}
		pid, err1 := strconv.Atoi(strings.TrimSpace(line[:open]))
		rest := strings.Fields(line[closing+1:])
		if err1 != nil || len(rest) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(rest[1])
		if err != nil {
			continue
		}
		procs = append(procs, procStat{pid: pid, ppid: ppid, comm: line[open+1 : closing], state: rest[0]})
	}
	return procs, nil
}

// orphan finds the watcher's orphan: a shell whose parent is PID 1.
func (l *lab) orphan(container string) (procStat, error) {
	procs, err := l.procs(container)
	if err != nil {
		return procStat{}, err
	}
	for _, p := range procs {
		if p.comm == "sh" && p.ppid == 1 {
			return p, nil
		}
	}
	return procStat{}, fmt.Errorf("no orphan shell with parent PID 1 in %s: %v", container, procs)
}

// dump prints what is known of container.
func (l *lab) dump(container string) {
	state, err := l.docker("inspect", "--format", "{{.State.Status}} exit={{.State.ExitCode}}", container)
	if err != nil {
		l.t.Logf("%s: %v", container, err)
		return
	}
	l.t.Logf("%s: %s", container, state)
	if members, err := l.members(container); err == nil {
		l.t.Logf("%s sees %v", container, members)
	}
	if out, err := l.docker("logs", "--tail", "20", container); err == nil {
		l.t.Logf("%s output (last lines):\n%s", container, out)
	}
	if log, err := l.agentLog(container); err == nil {
		lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
		l.t.Logf("%s agent log (last lines):\n%s", container, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

// figure logs a measurement in the form the multi-host suite uses:
// "FIGURE <test> <what> <seconds>".
func figure(t *testing.T, what string, d time.Duration) {
	t.Logf("FIGURE %s %s: %.2f s", t.Name(), what, d.Seconds())
}
