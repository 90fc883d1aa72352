package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/event"
	"github.com/openserf/serf/serf"
)

// Options are the agent-level settings Create needs besides the serf
// configuration.
type Options struct {
	// TagsFile, when set, persists tags across restarts; it excludes
	// configured tags.
	TagsFile string
	// KeyringFile, when set, holds the gossip keyring; it excludes an
	// encryption key.
	KeyringFile string
	// EncryptKey is the configured base64 key, only checked against
	// KeyringFile here (the caller installs it).
	EncryptKey string
	// EventBuffer is the size of the channel between Serf and the agent's
	// event loop. Default 64, as Serf.
	EventBuffer int
	// EventHandlers are the handler script specs ("[filter=]script", see
	// package event). Start refuses specs that do not parse.
	EventHandlers []string
	// HandlerQueueDepth is each handler's queue of pending events; 0 is
	// the event package's default.
	HandlerQueueDepth int
	// HandlerTimeout kills a handler script running longer; 0 is no limit,
	// as in Serf. It is the only thing that kills a script, and it stops
	// applying at Shutdown, which leaves running scripts to finish.
	HandlerTimeout time.Duration
	// Resolver looks up the SRV names of "dns+srv://" join addresses and
	// their targets (see Join); nil is net.DefaultResolver. Other names
	// are resolved by memberlist with the system's resolver.
	Resolver *net.Resolver
}

// Errors Start returns (inside its "Failed to setup the Serf agent"
// message), worded as Serf words them.
var (
	errTagsWithTagsFile = errors.New("Tags config not allowed while using tag files")
	errKeyWithKeyring   = errors.New("Encryption key not allowed while using a keyring")
)

// Agent runs a Serf node for the daemon: it owns the node, restores tags
// and keyring from their files, and hands every event to the registered
// handlers.
//
// An agent made by New is the whole daemon `serf agent` runs: it also owns
// its logging and telemetry, its RPC server, mDNS discovery, the retry
// join and reload. One made by Create is the node and its handlers alone,
// for a program that serves RPC itself (NewRPCServer).
//
// Every goroutine the agent starts (the event loop, a graceful leave, the
// retry join, and those of its RPC server and discovery) has exited when
// Shutdown returns.
type Agent struct {
	serfConf *serf.Config
	opts     Options
	logger   *log.Logger
	eventCh  chan serf.Event
	metrics  *metrics.Metrics
	labels   []metrics.Label // on every metric the agent reports, as on Serf's

	serf    *serf.Serf
	scripts *event.Runner

	// The daemon's parts, set by New and Start; zero in an agent made by
	// Create alone.
	daemon

	handlersLock sync.Mutex
	handlers     map[EventHandler]struct{}
	handlerList  []EventHandler // rebuilt on every change; read without copying

	// stopLock guards stopping Serf, which Shutdown, an RPC leave and the
	// event loop (when Serf stopped by itself) may each be first to do.
	stopLock   sync.Mutex
	stopped    bool          // guarded by stopLock
	shutdownCh chan struct{} // closed once Serf is stopped
	loopDone   chan struct{} // closed when the event loop has exited

	// stopping is set before Serf is stopped, so that the event loop can
	// tell that stop from Serf shutting down by itself.
	stopping atomic.Bool

	// goLock guards starting goroutines against Shutdown waiting for
	// them: wg.Add only while holding it and not closing.
	goLock  sync.Mutex
	closing bool // guarded by goLock
	wg      sync.WaitGroup

	shutdownOnce sync.Once
	shutdownErr  error // set by the first Shutdown
}

// Create prepares an agent; Start starts it. serfConf is modified: its
// event channel and loggers are set now, and Start sets the tags and
// keyring it restores from their files.
func Create(serfConf *serf.Config, opts Options, logOutput io.Writer) (*Agent, error) {
	if serfConf == nil || serfConf.MemberlistConfig == nil {
		return nil, errors.New("agent: a serf configuration with a memberlist configuration is required")
	}
	if logOutput == nil {
		logOutput = os.Stderr
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 64
	}
	logger := log.New(logOutput, "", log.LstdFlags)
	serfConf.Logger = logger
	serfConf.MemberlistConfig.Logger = logger
	serfConf.MemberlistConfig.LogOutput = nil
	eventCh := make(chan serf.Event, opts.EventBuffer)
	serfConf.EventCh = eventCh
	m := serfConf.Metrics
	if m == nil {
		m = metrics.Default()
	}

	return &Agent{
		serfConf:   serfConf,
		opts:       opts,
		logger:     logger,
		eventCh:    eventCh,
		metrics:    m,
		labels:     serfConf.MetricLabels,
		handlers:   make(map[EventHandler]struct{}),
		shutdownCh: make(chan struct{}),
		loopDone:   make(chan struct{}),
	}, nil
}

// Start restores tags and keyring from their files, creates the Serf node
// and starts the event loop; an agent made by New also starts mDNS
// discovery and its RPC server. The errors are the messages `serf agent`
// prints. A Start that fails shuts the agent down: nothing it started is
// left running.
func (a *Agent) Start() error {
	if a.serf != nil {
		return errors.New("agent: already started")
	}
	if err := a.start(); err != nil {
		_ = a.Shutdown()
		return err
	}
	return nil
}

func (a *Agent) start() error {
	if err := a.loadFiles(); err != nil {
		return fmt.Errorf("Failed to setup the Serf agent: %w", err)
	}
	a.logger.Printf("[INFO] agent: Serf agent starting")
	// Parsed before Serf exists, so that a bad spec leaves nothing to
	// stop.
	specs, err := event.ParseSpecs(a.opts.EventHandlers)
	if err != nil {
		return err
	}
	s, err := serf.Create(a.serfConf)
	if err != nil {
		return fmt.Errorf("Failed to start the Serf agent: Error creating Serf: %w", err)
	}
	a.serf = s
	a.scripts = event.NewRunner(event.RunnerConfig{
		Logger:       a.logger,
		Self:         s.LocalMember,
		Specs:        specs,
		QueueDepth:   a.opts.HandlerQueueDepth,
		Timeout:      a.opts.HandlerTimeout,
		Metrics:      a.metrics,
		MetricLabels: a.labels,
	})
	a.RegisterEventHandler(scriptHandler{a.scripts})
	if !a.goFunc(func() {
		defer close(a.loopDone)
		a.eventLoop()
	}) {
		close(a.loopDone)
		return errors.New("agent: shut down while starting")
	}
	if a.conf != nil {
		return a.startDaemon()
	}
	return nil
}

// goFunc runs f in a goroutine Shutdown waits for, unless Shutdown has
// begun; it reports whether f was started.
func (a *Agent) goFunc(f func()) bool {
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.closing {
		return false
	}
	a.wg.Go(f)
	return true
}

// UpdateEventHandlers swaps the handler scripts (SIGHUP). Events already
// queued for a handler that stays keep their place.
func (a *Agent) UpdateEventHandlers(handlers []string) error {
	specs, err := event.ParseSpecs(handlers)
	if err != nil {
		return err
	}
	a.scripts.Update(specs)
	return nil
}

// Serf returns the running node (nil before Start).
func (a *Agent) Serf() *serf.Serf { return a.serf }

// SerfConfig returns the node's configuration.
func (a *Agent) SerfConfig() *serf.Config { return a.serfConf }

// Logger is the agent's logger.
func (a *Agent) Logger() *log.Logger { return a.logger }

// EncryptionEnabled reports whether gossip is encrypted (false before
// Start).
func (a *Agent) EncryptionEnabled() bool {
	return a.serf != nil && a.serf.EncryptionEnabled()
}

// ShutdownCh is closed once the agent has stopped its Serf node: by
// Shutdown, after an RPC leave, or when Serf shut itself down (a lost name
// conflict). Its owner should then call Shutdown to end the rest.
func (a *Agent) ShutdownCh() <-chan struct{} { return a.shutdownCh }

// Leave leaves the cluster gracefully and returns when the leave is done.
func (a *Agent) Leave() error {
	if a.serf == nil {
		return nil
	}
	if a.notify != nil {
		a.notify.stoppingNow()
	}
	a.logger.Printf("[INFO] agent: requesting graceful leave from Serf")
	return a.serf.Leave()
}

// GracefulLeave starts Leave in a goroutine the agent owns and returns the
// channel its result is sent on, for a caller that waits for it only so
// long (`serf agent` on SIGINT). Shutdown cuts a leave under way short and
// waits for its goroutine. Once Shutdown has begun, the channel gets
// serf.ErrLeaveAfterShutdown.
func (a *Agent) GracefulLeave() <-chan error {
	ch := make(chan error, 1)
	if !a.goFunc(func() { ch <- a.Leave() }) {
		ch <- serf.ErrLeaveAfterShutdown
	}
	return ch
}

// Shutdown stops everything the agent started, in the order `serf agent`
// always has: the retry join, mDNS discovery, the RPC server, then the
// handler scripts and Serf (cutting a graceful leave under way short),
// then the systemd notifier (whose STOPPING=1 goes out as Shutdown
// begins) and last telemetry. It returns when every goroutine the agent
// started has exited. Handler scripts still running are left to run to their
// end, as in Serf; events queued for handlers are dropped.
//
// Shutdown is idempotent and safe to call from several goroutines; each
// call returns once the first is done. It must not be called from an
// event handler or an RPC request, which it waits for.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() { a.shutdownErr = a.shutdown() })
	return a.shutdownErr
}

func (a *Agent) shutdown() error {
	a.goLock.Lock()
	a.closing = true
	a.goLock.Unlock()

	if a.notify != nil {
		a.notify.stoppingNow()
	}
	a.stopDaemon()
	err := a.stop()
	a.wg.Wait()
	if a.notify != nil {
		// Last, so that it can still ping while the rest stops.
		a.notify.stop()
	}
	if a.telemetry != nil {
		a.telemetry.Stop()
	}
	return err
}

// stop stops the handler scripts and Serf and closes ShutdownCh, without
// waiting for the agent's goroutines: it is what an RPC leave or the event
// loop, themselves goroutines Shutdown waits for, call.
func (a *Agent) stop() error {
	a.stopLock.Lock()
	defer a.stopLock.Unlock()
	if a.stopped {
		return nil
	}
	a.stopping.Store(true)
	if a.scripts != nil {
		a.scripts.Shutdown()
	}
	if a.serf != nil {
		a.logger.Printf("[INFO] agent: requesting serf shutdown")
		if err := a.serf.Shutdown(); err != nil {
			return err
		}
	}
	a.logger.Printf("[INFO] agent: shutdown complete")
	a.stopped = true
	close(a.shutdownCh)
	return nil
}

// Wait blocks until the event loop has exited, which Shutdown also waits
// for. It returns at once when Start never started the loop.
func (a *Agent) Wait() {
	if a.serf != nil {
		<-a.loopDone
	}
}

// Join joins the cluster through addrs and returns how many nodes it
// reached; replay delivers old user events. An address is "host",
// "host:port" or "node/host:port", which memberlist resolves, joining
// every A and AAAA record of a name, or "dns+srv://name", whose SRV
// records are looked up now (see srvPrefix). Names are resolved again at
// every call. As in memberlist, reaching one node is success: the errors
// of the other addresses are returned only when no node was reached.
// When a member hung up without answering, the error says that a
// different cluster label may be why (see explainJoin).
func (a *Agent) Join(addrs []string, replay bool) (int, error) {
	return a.join(context.Background(), addrs, replay)
}

// join is Join with a context that cuts its SRV lookups short.
func (a *Agent) join(ctx context.Context, addrs []string, replay bool) (int, error) {
	a.logger.Printf("[INFO] agent: joining: %v replay: %v", addrs, replay)
	resolved, resolveErr := a.resolveJoinAddrs(ctx, addrs)
	var n int
	var err error
	if len(resolved) > 0 || resolveErr == nil {
		n, err = a.serf.Join(resolved, !replay)
	}
	if n == 0 && resolveErr != nil {
		err = errors.Join(resolveErr, err)
	}
	err = explainJoin(err, a.serfConf.MemberlistConfig.Label)
	if n > 0 {
		a.logger.Printf("[INFO] agent: joined: %d nodes", n)
	}
	if err != nil {
		a.logger.Printf("[WARN] agent: error joining: %v", err)
	}
	return n, err
}

// ForceLeave forces a failed member into the left state, or erases it
// with prune.
func (a *Agent) ForceLeave(node string, prune bool) error {
	var err error
	if prune {
		a.logger.Printf("[INFO] agent: Force leaving node (prune): %s", node)
		if err = a.serf.RemoveFailedNodePrune(node); err != nil {
			a.logger.Printf("[WARN] agent: failed to remove node (prune): %v", err)
		}
		return err
	}
	a.logger.Printf("[INFO] agent: Force leaving node: %s", node)
	if err = a.serf.RemoveFailedNode(node); err != nil {
		a.logger.Printf("[WARN] agent: failed to remove node: %v", err)
	}
	return err
}

// UserEvent sends a user event.
func (a *Agent) UserEvent(name string, payload []byte, coalesce bool) error {
	a.logger.Printf("[DEBUG] agent: Requesting user event send: %s. Coalesced: %#v. Payload: %#v",
		name, coalesce, string(payload))
	err := a.serf.UserEvent(name, payload, coalesce)
	if err != nil {
		a.logger.Printf("[WARN] agent: failed to send user event: %v", err)
	}
	return err
}

// Query sends a query. Serf's internal query names are refused, except
// the bare _serf_ping that `serf reachability` sends. An acked query ends
// as soon as every member its filters select has acked and responded
// (serf.QueryParam.EndWhenAnswered), for every caller: the RPC and HTTP
// query streams then end early with the answers a full wait would give.
// params is not modified.
func (a *Agent) Query(name string, payload []byte, params *serf.QueryParam) (*serf.QueryResponse, error) {
	if strings.HasPrefix(name, serf.InternalQueryPrefix) &&
		(name != serf.InternalQueryPrefix+"ping" || payload != nil) {
		return nil, fmt.Errorf("Queries cannot contain the '%s' prefix", serf.InternalQueryPrefix)
	}
	a.logger.Printf("[DEBUG] agent: Requesting query send: %s. Payload: %#v", name, string(payload))
	var p serf.QueryParam
	if params != nil {
		p = *params
	}
	p.EndWhenAnswered = true
	resp, err := a.serf.Query(name, payload, &p)
	if err != nil {
		a.logger.Printf("[WARN] agent: failed to start user query: %v", err)
	}
	return resp, err
}

// InstallKey, UseKey, RemoveKey and ListKeys run cluster-wide keyring
// operations.
func (a *Agent) InstallKey(key string) (*serf.KeyResponse, error) {
	a.logger.Printf("[INFO] agent: Initiating key installation")
	return a.serf.KeyManager().InstallKey(key)
}

func (a *Agent) UseKey(key string) (*serf.KeyResponse, error) {
	a.logger.Printf("[INFO] agent: Initiating primary key change")
	return a.serf.KeyManager().UseKey(key)
}

func (a *Agent) RemoveKey(key string) (*serf.KeyResponse, error) {
	a.logger.Printf("[INFO] agent: Initiating key removal")
	return a.serf.KeyManager().RemoveKey(key)
}

func (a *Agent) ListKeys() (*serf.KeyResponse, error) {
	a.logger.Printf("[INFO] agent: Initiating key listing")
	return a.serf.KeyManager().ListKeys()
}

// SetTags replaces the local tags, persisting them to the tags file first
// when there is one.
func (a *Agent) SetTags(tags map[string]string) error {
	if a.opts.TagsFile != "" {
		if err := writeTagsFile(a.opts.TagsFile, tags); err != nil {
			a.logger.Printf("[ERR] agent: %s", err)
			return err
		}
	}
	return a.serf.SetTags(tags)
}
