// Package multihost runs serf agents — ours and real Serf's — on several
// hosts built from network namespaces (internal/lab/netns), and tests what
// only a real network shows: mDNS discovery across hosts, crashes,
// partitions, lossy and slow links, paused processes, rolling restarts,
// joins through DNS and mixed clusters. docs/testing.md describes each scenario.
//
// The tests need root and run only with SERF_INTEGRATION=1 (make
// integration); they skip and say why otherwise. Their TestMain runs them
// inside a sandbox (netns.Sandbox), so a killed run leaves nothing behind.
package multihost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/wait"
)

// PollInterval is how often the waits look at the hosts again: each look
// runs "serf members" on every host.
const PollInterval = 100 * time.Millisecond

// GossipRepair bounds a wait for gossiped news (a tag change, a user
// event) to reach every member. Gossip gives each holder of a message a
// few transmissions to random members, and in a cluster of six it misses
// a member in about one message of 30, in real Serf as in ours; the
// member then learns it from the periodic push/pull (every 30 s), whose
// first round may come only just before the second. Two rounds and a
// margin.
const GossipRepair = 70 * time.Second

// Cluster is a lab of hosts and the agents running on them, owned by one
// test: everything is stopped and removed when the test ends, and if the
// test failed, every host's view of the members and the tail of every
// agent's log are printed first.
type Cluster struct {
	t   testing.TB
	Lab *netns.Lab
	// CLI is the serf binary used for commands (members, event, ...)
	// against any agent: ours, which speaks to real Serf agents too.
	CLI string
	dir string

	mu     sync.Mutex
	agents []*Agent
}

// NewCluster builds a lab of n hosts for t; prefix names its namespaces.
func NewCluster(t testing.TB, prefix string, n int, cli string) *Cluster {
	t.Helper()
	return NewClusterStack(t, prefix, n, cli, netns.IPv4Only)
}

// NewClusterStack is NewCluster with hosts of the given IP stack.
func NewClusterStack(t testing.TB, prefix string, n int, cli string, stack netns.Stack) *Cluster {
	t.Helper()
	lab, err := netns.NewStack(prefix, stack)
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	c := &Cluster{t: t, Lab: lab, CLI: cli, dir: t.TempDir()}
	t.Cleanup(c.close)
	for i := 0; i < n; i++ {
		if _, err := lab.AddHost(""); err != nil {
			t.Fatalf("add host: %v", err)
		}
	}
	return c
}

// Host returns host i, counting from 1.
func (c *Cluster) Host(i int) *netns.Host {
	return c.Lab.Hosts()[i-1]
}

func (c *Cluster) close() {
	if c.t.Failed() {
		c.dump()
	}
	c.mu.Lock()
	agents := c.agents
	c.mu.Unlock()
	for _, a := range agents {
		a.stop()
	}
	if err := c.Lab.Close(); err != nil {
		c.t.Errorf("close lab: %v", err)
	}
}

// dump prints what every running agent sees and the end of its log.
func (c *Cluster) dump() {
	c.mu.Lock()
	agents := c.agents
	c.mu.Unlock()
	for _, a := range agents {
		view := "(not running)"
		if a.Running() {
			if ms, err := a.Members(); err != nil {
				view = err.Error()
			} else {
				view = agentproc.FormatMembers(ms)
			}
		}
		c.t.Logf("==== %s (%s, %s) members: %s\n---- log tail:\n%s",
			a.Host.Name, strings.TrimSpace(a.Host.IP+" "+a.Host.IP6), filepath.Base(a.Bin), view, a.LogTail(40))
	}
}

// Agent is one serf agent process on a host. It can be killed, paused,
// signalled and started again with the same arguments and directory.
type Agent struct {
	c    *Cluster
	Host *netns.Host
	// Bin is the serf binary the agent runs: ours or a real Serf.
	Bin string
	// Args are the arguments after "agent".
	Args []string
	// Dir holds the agent's log, snapshot, keyring and handler records.
	Dir string
	// RPCAddr is the agent's -rpc-addr, "" for the default; CLI and
	// RunBin pass it on as SERF_RPC_ADDR.
	RPCAddr string

	mu   sync.Mutex
	proc *agentproc.Process // the current run; nil before the first
}

// Start runs "bin agent args..." on host h, as if started there by hand:
// the host's name is the hostname, its RPC listens on the host's own
// 127.0.0.1:7373. Its output goes to agent.log in its directory.
func (c *Cluster) Start(h *netns.Host, bin string, args ...string) *Agent {
	c.t.Helper()
	dir := filepath.Join(c.dir, h.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	a := &Agent{c: c, Host: h, Bin: bin, Args: args, Dir: dir}
	for _, arg := range args {
		if v, ok := strings.CutPrefix(arg, "-rpc-addr="); ok {
			a.RPCAddr = v
		}
	}
	c.mu.Lock()
	c.agents = append(c.agents, a)
	c.mu.Unlock()
	if err := a.Restart(); err != nil {
		c.t.Fatal(err)
	}
	return a
}

// StartRecorded is Start with the recording handler (HandlerScript) and a
// snapshot in the agent's directory, on the hosts' eth1 interface.
func (c *Cluster) StartRecorded(h *netns.Host, bin string, args ...string) *Agent {
	c.t.Helper()
	dir := filepath.Join(c.dir, h.Name)
	script, err := HandlerScript(dir)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Start(h, bin, append([]string{"-iface=eth1", "-snapshot=" + filepath.Join(dir, "snapshot"),
		"-event-handler=" + script}, args...)...)
}

// StartJoined starts an agent on each of hosts 1, 2, ...: the i-th runs
// bins[i] with args(i, host) (nil: no arguments) through start, c.Start or
// c.StartRecorded, and every agent but the first joins the first, which
// listens before the others start. It waits up to timeout until every
// agent sees all alive, and returns the agents and how long that took.
func (c *Cluster) StartJoined(timeout time.Duration, start func(*netns.Host, string, ...string) *Agent,
	bins []string, args func(i int, h *netns.Host) []string) ([]*Agent, time.Duration) {
	c.t.Helper()
	var agents []*Agent
	for i, bin := range bins {
		h := c.Host(i + 1)
		var a []string
		if args != nil {
			a = slices.Clip(args(i, h))
		}
		if i > 0 {
			a = append(a, "-join="+c.Host(1).IP)
		}
		agents = append(agents, start(h, bin, a...))
		if i == 0 {
			WaitRPC(c.t, agents[0])
		}
	}
	return agents, Converged(c.t, timeout, agents)
}

// Restart starts the agent again, with the same arguments, after it
// exited or was killed.
func (a *Agent) Restart() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != nil && a.proc.Running() {
		return fmt.Errorf("%s: agent still running", a.Host.Name)
	}
	logFile, err := os.OpenFile(a.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// The agent has its own copy of the file.
	defer logFile.Close()
	fmt.Fprintf(logFile, "==== %s: %s agent %s\n", time.Now().Format(time.RFC3339Nano),
		a.Bin, strings.Join(a.Args, " "))
	cmd := a.Host.HostCommand(a.Bin, append([]string{"agent"}, a.Args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = a.Dir
	proc, err := agentproc.StartProcess(cmd)
	if err != nil {
		return fmt.Errorf("start agent on %s: %w", a.Host.Name, err)
	}
	a.proc = proc
	return nil
}

// LogPath is where the agent's output goes.
func (a *Agent) LogPath() string { return filepath.Join(a.Dir, "agent.log") }

// Log returns everything the agent has printed, across restarts.
func (a *Agent) Log() string {
	b, _ := os.ReadFile(a.LogPath())
	return string(b)
}

// LogTail returns the last n lines of the agent's log.
func (a *Agent) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(a.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// process returns the agent's current run, nil before the first start.
func (a *Agent) process() *agentproc.Process {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.proc
}

// PID is the agent's process ID; 0 before the first start.
func (a *Agent) PID() int {
	if p := a.process(); p != nil {
		return p.Pid()
	}
	return 0
}

// Running reports whether the agent's process is alive.
func (a *Agent) Running() bool {
	p := a.process()
	return p != nil && p.Running()
}

// Signal sends sig to the agent's process only.
func (a *Agent) Signal(sig syscall.Signal) error {
	p := a.process()
	if p == nil {
		return errors.New("agent never started")
	}
	return p.Signal(sig)
}

// Kill kills the agent with SIGKILL, as a crash would, and waits for it.
func (a *Agent) Kill() error {
	if err := a.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_, err := a.Wait(30 * time.Second)
	return err
}

// Wait waits for the agent to exit and returns its exit code.
func (a *Agent) Wait(timeout time.Duration) (int, error) {
	p := a.process()
	if p == nil {
		return 0, errors.New("agent never started")
	}
	code, err := p.Wait(timeout)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", a.Host.Name, err)
	}
	return code, nil
}

// stop kills the agent and its whole process group (its handlers) if it
// still runs, and waits for both.
func (a *Agent) stop() {
	p := a.process()
	if p == nil {
		return
	}
	// A paused agent must be continued for SIGKILL to be delivered at
	// once; kill the group first so that handlers die with it.
	_ = p.SignalGroup(syscall.SIGKILL)
	_ = p.Signal(syscall.SIGCONT)
	p.KillGroup(5 * time.Second)
	_, _ = p.Wait(30 * time.Second)
}

// CLI runs "serf args..." with the cluster's CLI binary on the agent's
// host, against the agent's RPC, and returns its standard output.
func (a *Agent) CLI(args ...string) (string, error) {
	return a.RunBin(a.c.CLI, args...)
}

// RunBin is CLI with another serf binary, such as the agent's own.
func (a *Agent) RunBin(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := a.Host.CommandContext(ctx, bin, args...)
	if a.RPCAddr != "" {
		cmd.Env = append(os.Environ(), "SERF_RPC_ADDR="+a.RPCAddr)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s on %s: %w: %s%s", filepath.Base(bin), strings.Join(args, " "),
			a.Host.Name, err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Members asks the agent for its member list, sorted by name.
func (a *Agent) Members() ([]agentproc.Member, error) {
	out, err := a.CLI("members", "-format=json")
	if err != nil {
		return nil, err
	}
	ms, err := agentproc.ParseMembers(out)
	if err != nil {
		return nil, fmt.Errorf("members on %s: %w", a.Host.Name, err)
	}
	return ms, nil
}

// Statuses maps each member the agent knows to its status.
func (a *Agent) Statuses() (map[string]string, error) {
	ms, err := a.Members()
	if err != nil {
		return nil, err
	}
	st := make(map[string]string, len(ms))
	for _, m := range ms {
		st[m.Name] = m.Status
	}
	return st, nil
}

// AllSee waits until every agent in observers reports every name in want
// with the given status, and returns how long it took.
func AllSee(t testing.TB, timeout time.Duration, observers []*Agent, status string, names ...string) time.Duration {
	t.Helper()
	return eachStatus(t, timeout, observers, names, func(o *Agent, n, st string, _ bool) error {
		if st != status {
			return fmt.Errorf("%s sees %s as %q, want %q", o.Host.Name, n, st, status)
		}
		return nil
	})
}

// eachStatus waits until check holds for every name in names as every
// agent of observers lists it (listed is false, status "", for a name it
// does not list), and returns how long it took.
func eachStatus(t testing.TB, timeout time.Duration, observers []*Agent, names []string,
	check func(o *Agent, name, status string, listed bool) error) time.Duration {
	t.Helper()
	return wait.Every(t, timeout, PollInterval, func() error {
		for _, o := range observers {
			st, err := o.Statuses()
			if err != nil {
				return err
			}
			for _, n := range names {
				s, listed := st[n]
				if err := check(o, n, s, listed); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Converged waits until every agent sees exactly the given agents, all
// alive (nodes that left or failed are allowed to be listed only if
// allowGone is true), and returns how long it took.
func Converged(t testing.TB, timeout time.Duration, agents []*Agent) time.Duration {
	t.Helper()
	var names []string
	for _, a := range agents {
		names = append(names, a.Host.Name)
	}
	return AllSee(t, timeout, agents, "alive", names...)
}

// Others returns agents without the ones in except.
func Others(agents []*Agent, except ...*Agent) []*Agent {
	var out []*Agent
	for _, a := range agents {
		if !slices.Contains(except, a) {
			out = append(out, a)
		}
	}
	return out
}

// AllHandled waits until the recording handler of every agent in agents
// has seen the event called name, with substr in its payload, exactly
// once, and returns how long that took.
func AllHandled(t testing.TB, timeout time.Duration, agents []*Agent, name, substr string) time.Duration {
	t.Helper()
	return wait.Every(t, timeout, PollInterval, func() error {
		for _, a := range agents {
			if n := a.CountEvents(name, substr); n != 1 {
				return fmt.Errorf("%s handled %s %q %d times, want once", a.Host.Name, name, substr, n)
			}
		}
		return nil
	})
}

// HandlerScript writes the recording event handler into the agent's
// directory and returns its path. Every event it sees becomes one line of
// events.log beside it: "<unix time> <event>[:<name>] <ltime> <stdin on
// one line>". For a query it also answers with "reply from <node>".
func HandlerScript(dir string) (string, error) {
	script := `#!/bin/sh
ev="$SERF_EVENT"
[ -n "$SERF_USER_EVENT" ] && ev="$ev:$SERF_USER_EVENT"
[ -n "$SERF_QUERY_NAME" ] && ev="$ev:$SERF_QUERY_NAME"
lt="${SERF_USER_LTIME:-${SERF_QUERY_LTIME:--}}"
payload=$(tr '\n' ' ')
echo "$(date +%s.%N) $ev $lt $payload" >> "$(dirname "$0")/events.log"
if [ "$SERF_EVENT" = query ]; then
	printf 'reply from %s' "$SERF_SELF_NAME"
fi
`
	path := filepath.Join(dir, "record.sh")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(script), 0o755)
}

// Event is one line written by the HandlerScript.
type Event struct {
	Time    time.Time
	Name    string // member-join, user:deploy, query:load, ...
	LTime   string
	Payload string
}

// Events returns what the agent's recording handler has seen so far.
func (a *Agent) Events() []Event {
	f, err := os.Open(filepath.Join(a.Dir, "events.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var evs []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 4)
		if len(fields) < 3 {
			continue
		}
		secs, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		ev := Event{Time: time.Unix(0, int64(secs*1e9)), Name: fields[1], LTime: fields[2]}
		if len(fields) == 4 {
			ev.Payload = strings.TrimSpace(fields[3])
		}
		evs = append(evs, ev)
	}
	return evs
}

// CountEvents counts the recorded events called name whose payload
// contains substr.
func (a *Agent) CountEvents(name, substr string) int {
	n := 0
	for _, ev := range a.Events() {
		if ev.Name == name && strings.Contains(ev.Payload, substr) {
			n++
		}
	}
	return n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// WaitRPC waits until the agent answers on its RPC address.
func WaitRPC(t testing.TB, a *Agent) {
	t.Helper()
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		if !a.Running() {
			return fmt.Errorf("%s exited:\n%s", a.Host.Name, a.LogTail(20))
		}
		_, err := a.Members()
		return err
	})
}
