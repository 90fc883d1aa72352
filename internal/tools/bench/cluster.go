package bench

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/agentproc"
)

// Ports every agent uses, on its own address: Serf's defaults.
const (
	gossipPort = 7946
	rpcPort    = 7373
)

// handlerScript is the user-event handler both binaries run. It appends
// "<payload> <unix nanoseconds>" to the file named by SERF_BENCH_EVENTS,
// which each agent's environment sets (handlers inherit it).
const handlerScript = `#!/bin/sh
p=$(cat)
echo "$p $(date +%s%N)" >> "$SERF_BENCH_EVENTS"
`

// userEventName is the only user event the handler runs for; load events
// use other names so that they cost no process per event.
const userEventName = "bench"

// ClusterConfig says how to start a cluster.
type ClusterConfig struct {
	Bin     string // the serf binary
	N       int    // number of agents, at most 250
	Net     int    // agents get 127.0.Net.1 to 127.0.Net.N; 1..254
	Dir     string // parent of the agents' directories; must exist
	Handler string // path of the handler script (see WriteHandler)
	// HTTP starts every agent with -http-addr on its address, port
	// httpPort, and -ui (ours only: Serf has no HTTP API).
	HTTP bool

	// Args are more flags for every agent; Env more environment
	// variables (handlers inherit them).
	Args, Env []string

	// StartTimeout bounds one agent's exec until its RPC answers.
	StartTimeout time.Duration

	// LogLevel is every agent's -log-level; "warn" when empty. At
	// "info" the logs have memberlist's probe failures and suspicion
	// timeouts, which say where a detection's time went.
	LogLevel string

	// Keep leaves the agents' directories in place when the cluster is
	// done with (Config.Keep).
	Keep bool
}

// removeDirs removes the agents' directories, unless the cluster keeps
// them.
func (c *Cluster) removeDirs() {
	if c.cfg.Keep {
		return
	}
	for _, a := range c.Agents {
		os.RemoveAll(a.Dir)
	}
}

// WriteHandler writes the event-handler script into dir and returns its
// path.
func WriteHandler(dir string) (string, error) {
	path := filepath.Join(dir, "handler.sh")
	return path, os.WriteFile(path, []byte(handlerScript), 0o755)
}

// Agent is one agent process of a Cluster and its watcher.
type Agent struct {
	Name     string
	BindAddr string // ip:7946
	RPCAddr  string // ip:7373
	HTTPAddr string // ip:7374 when the cluster serves HTTP, else ""
	Dir      string
	Events   string // the handler's output file
	Failed   string // the member-failed handler's output file (see FailedHandler)
	Startup  time.Duration

	started time.Time // when it was exec'd
	proc    *agentproc.Process
	log     *os.File
	rpc     *client.RPCClient
}

// Cluster is N agents of one binary, each with an RPC connection. Close
// kills them all.
type Cluster struct {
	cfg ClusterConfig

	lock   sync.Mutex // guards Agents while the cluster starts (see KillAll)
	Agents []*Agent

	closeOnce sync.Once
}

// StartCluster starts cfg.N agents one after the other, each once the
// previous one's RPC answers, and keeps an RPC connection to each. On
// error the agents started so far are killed. reg, when not nil, is told
// about the cluster so that it can be killed from a signal handler.
func StartCluster(ctx context.Context, cfg ClusterConfig, reg *Registry) (*Cluster, error) {
	if cfg.N < 1 || cfg.N > 250 {
		return nil, fmt.Errorf("cluster of %d agents: want 1 to 250", cfg.N)
	}
	if cfg.Net < 1 || cfg.Net > 254 {
		return nil, fmt.Errorf("network 127.0.%d.0: want 1 to 254", cfg.Net)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	c := &Cluster{cfg: cfg}
	reg.add(c)
	for i := range cfg.N {
		if err := c.startAgent(ctx, i); err != nil {
			c.Close()
			reg.remove(c)
			return nil, err
		}
	}
	return c, nil
}

// startAgent starts agent i, adds it to c.Agents and connects to its
// RPC once it answers.
func (c *Cluster) startAgent(ctx context.Context, i int) error {
	a, err := c.launchAgent(i)
	if err != nil {
		return err
	}
	return c.connect(ctx, a)
}

// connect dials a's RPC once it answers and records its start-up time.
func (c *Cluster) connect(ctx context.Context, a *Agent) error {
	rpc, err := c.dialRPC(ctx, a)
	if err != nil {
		return err
	}
	a.Startup = time.Since(a.started)
	a.rpc = rpc
	return nil
}

// launchAgent execs agent i (with extra flags) and adds it to c.Agents
// as soon as its process exists, so that Close and KillAll find it.
func (c *Cluster) launchAgent(i int, extra ...string) (*Agent, error) {
	ip := fmt.Sprintf("127.0.%d.%d", c.cfg.Net, i+1)
	a := &Agent{
		Name:     fmt.Sprintf("node%03d", i),
		BindAddr: net.JoinHostPort(ip, strconv.Itoa(gossipPort)),
		RPCAddr:  net.JoinHostPort(ip, strconv.Itoa(rpcPort)),
		Dir:      filepath.Join(c.cfg.Dir, fmt.Sprintf("net%d-node%03d", c.cfg.Net, i)),
	}
	a.Events = filepath.Join(a.Dir, "events")
	a.Failed = filepath.Join(a.Dir, "failed")
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(a.Dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	a.log = log
	args := []string{"agent",
		"-node=" + a.Name,
		"-bind=" + a.BindAddr,
		"-rpc-addr=" + a.RPCAddr,
		"-profile=lan",
		"-log-level=" + cmp.Or(c.cfg.LogLevel, "warn"),
		"-event-handler=user:" + userEventName + "=" + c.cfg.Handler,
		"-event-handler=" + queryEndHandler,
	}
	if c.cfg.HTTP {
		a.HTTPAddr = net.JoinHostPort(ip, strconv.Itoa(httpPort))
		args = append(args, "-http-addr="+a.HTTPAddr, "-ui")
	}
	args = append(append(args, c.cfg.Args...), extra...)
	cmd := exec.Command(c.cfg.Bin, args...)
	cmd.Dir = a.Dir
	cmd.Env = append(append(os.Environ(), "SERF_BENCH_EVENTS="+a.Events, "SERF_BENCH_FAILED="+a.Failed), c.cfg.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	if c.cfg.LogLevel != "" && c.cfg.LogLevel != "warn" {
		// The agents' own timestamps are whole seconds; each line also
		// gets the time it reached us, to the millisecond (see killTrace).
		w := &stampWriter{w: log}
		cmd.Stdout, cmd.Stderr = w, w
	}
	// Its own process group, so that a kill takes its handler scripts
	// too; and a kill from the kernel if we die without cleaning up.
	agentproc.SetDeathSignal(cmd, true)
	a.started = time.Now()
	if a.proc, err = agentproc.StartProcess(cmd); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", a.Name, err)
	}
	c.lock.Lock()
	c.Agents = append(c.Agents, a)
	c.lock.Unlock()
	return a, nil
}

// dialRPC connects to a's RPC once it answers.
func (c *Cluster) dialRPC(ctx context.Context, a *Agent) (*client.RPCClient, error) {
	deadline := time.Now().Add(c.cfg.StartTimeout)
	delay := 2 * time.Millisecond
	for {
		rpc, err := client.ClientFromConfig(&client.Config{Addr: a.RPCAddr, Timeout: 10 * time.Second})
		if err == nil {
			return rpc, nil
		}
		select {
		case <-a.proc.Exited():
			return nil, fmt.Errorf("%s exited before its RPC answered: %s", a.Name, tail(filepath.Join(a.Dir, "agent.log")))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: RPC at %s not answering after %v: %w", a.Name, a.RPCAddr, c.cfg.StartTimeout, err)
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(data)
}

// Kill sends SIGKILL to a's process group and waits for it to exit.
func (a *Agent) Kill() {
	if a.proc == nil {
		return
	}
	if a.proc.Running() {
		a.killGroup()
	}
	_, _ = a.proc.Wait(10 * time.Second)
}

// killGroup sends SIGKILL to a's process group without waiting; it is
// what a signal handler may call.
func (a *Agent) killGroup() {
	if a.proc != nil {
		_ = a.proc.SignalGroup(syscall.SIGKILL)
	}
}

// PID is the agent's process ID.
func (a *Agent) PID() int { return a.proc.Pid() }

// Close closes every RPC connection and kills every agent (process
// groups included), then removes nothing: the directories belong to the
// caller. It is idempotent.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		c.lock.Lock()
		agents := append([]*Agent(nil), c.Agents...)
		c.lock.Unlock()
		for _, a := range agents {
			a.killGroup()
		}
		for _, a := range agents {
			if a.rpc != nil {
				a.rpc.Close()
			}
			a.Kill()
			if a.log != nil {
				a.log.Close()
			}
		}
	})
}

// Registry knows the live clusters, so that a signal handler or a
// recovered panic can kill every agent.
type Registry struct {
	lock     sync.Mutex
	clusters map[*Cluster]struct{}
}

func (r *Registry) add(c *Cluster) {
	if r == nil {
		return
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	if r.clusters == nil {
		r.clusters = make(map[*Cluster]struct{})
	}
	r.clusters[c] = struct{}{}
}

func (r *Registry) remove(c *Cluster) {
	if r == nil {
		return
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	delete(r.clusters, c)
}

// KillAll sends SIGKILL to every agent of every registered cluster. It
// does not wait for them to exit, so it is quick enough for a signal
// handler; the agents' processes are reaped by their clusters' Close.
func (r *Registry) KillAll() {
	r.lock.Lock()
	clusters := make([]*Cluster, 0, len(r.clusters))
	for c := range r.clusters {
		clusters = append(clusters, c)
	}
	r.lock.Unlock()
	for _, c := range clusters {
		c.lock.Lock()
		agents := append([]*Agent(nil), c.Agents...)
		c.lock.Unlock()
		for _, a := range agents {
			a.killGroup()
		}
	}
}
