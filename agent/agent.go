package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/event"
	"github.com/openserf/serf/internal/atomicfile"
	"github.com/openserf/serf/serf"
)

// EventHandler receives every event the agent gets from Serf, in order.
// HandleEvent must not block: the script runner and RPC streams queue
// the event and return.
type EventHandler interface {
	HandleEvent(serf.Event)
}

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
	// EventHandlers are the handler script specs (already validated with
	// ParseEventHandlers).
	EventHandlers []string
	// HandlerQueueDepth is each handler's queue of pending events; 0 is
	// the event package's default.
	HandlerQueueDepth int
	// HandlerTimeout kills a handler script running longer; 0 is no limit,
	// as in Serf. It is the only thing that kills a script, and it stops
	// applying at Shutdown, which leaves running scripts to finish.
	HandlerTimeout time.Duration
}

// Errors Create returns, worded as Serf words them.
var (
	errTagsWithTagsFile = errors.New("Tags config not allowed while using tag files")
	errKeyWithKeyring   = errors.New("Encryption key not allowed while using a keyring")
)

// Agent runs a Serf node for the daemon: it owns the node, restores tags
// and keyring from their files, and hands every event to the registered
// handlers.
type Agent struct {
	serfConf *serf.Config
	opts     Options
	logger   *log.Logger
	eventCh  chan serf.Event

	serf    *serf.Serf
	scripts *event.Runner

	handlersLock sync.Mutex
	handlers     map[EventHandler]struct{}
	handlerList  []EventHandler // rebuilt on every change; read without copying

	shutdownLock sync.Mutex
	shutdown     bool
	shutdownCh   chan struct{}
	loopDone     chan struct{}

	// stopping is set by Shutdown before it stops Serf, so that the event
	// loop can tell that stop from Serf shutting down by itself.
	stopping atomic.Bool
}

// Create prepares an agent; Start starts it. serfConf is modified: its
// event channel, loggers and (from the files) tags and keyring are set.
func Create(serfConf *serf.Config, opts Options, logOutput io.Writer) (*Agent, error) {
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

	a := &Agent{
		serfConf:   serfConf,
		opts:       opts,
		logger:     logger,
		eventCh:    eventCh,
		handlers:   make(map[EventHandler]struct{}),
		shutdownCh: make(chan struct{}),
		loopDone:   make(chan struct{}),
	}
	if opts.TagsFile != "" {
		if err := a.loadTagsFile(); err != nil {
			return nil, err
		}
	}
	if opts.KeyringFile != "" {
		if err := a.loadKeyringFile(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Start creates the Serf node and the event loop.
func (a *Agent) Start() error {
	a.logger.Printf("[INFO] agent: Serf agent starting")
	s, err := serf.Create(a.serfConf)
	if err != nil {
		return fmt.Errorf("Error creating Serf: %s", err)
	}
	a.serf = s
	specs, err := ParseEventHandlers(a.opts.EventHandlers)
	if err != nil {
		return err
	}
	a.scripts = event.NewRunner(event.RunnerConfig{
		Logger:     a.logger,
		Self:       s.LocalMember,
		Specs:      specs,
		QueueDepth: a.opts.HandlerQueueDepth,
		Timeout:    a.opts.HandlerTimeout,
	})
	a.RegisterEventHandler(scriptHandler{a.scripts})
	go a.eventLoop()
	return nil
}

// UpdateEventHandlers swaps the handler scripts (SIGHUP). Events already
// queued for a handler that stays keep their place.
func (a *Agent) UpdateEventHandlers(handlers []string) error {
	specs, err := ParseEventHandlers(handlers)
	if err != nil {
		return err
	}
	a.scripts.Update(specs)
	return nil
}

// EventHandlerKeys is the "event_handlers" section of `serf info`:
// "<event>:<name>" to script.
func (a *Agent) EventHandlerKeys() map[string]string {
	out := map[string]string{}
	if a.scripts == nil {
		return out
	}
	for _, s := range a.scripts.Specs() {
		out[s.Key()] = s.Script
	}
	return out
}

// Serf returns the running node (nil before Start).
func (a *Agent) Serf() *serf.Serf { return a.serf }

// SerfConfig returns the node's configuration.
func (a *Agent) SerfConfig() *serf.Config { return a.serfConf }

// Logger is the agent's logger.
func (a *Agent) Logger() *log.Logger { return a.logger }

// ShutdownCh is closed once the agent has shut down, including when Serf
// shut itself down (a lost name conflict).
func (a *Agent) ShutdownCh() <-chan struct{} { return a.shutdownCh }

// Leave leaves the cluster gracefully.
func (a *Agent) Leave() error {
	if a.serf == nil {
		return nil
	}
	a.logger.Printf("[INFO] agent: requesting graceful leave from Serf")
	return a.serf.Leave()
}

// Shutdown stops Serf and the event loop. Handler scripts still running
// are left to run to their end, as in Serf; events queued for handlers
// are dropped. It is idempotent.
func (a *Agent) Shutdown() error {
	a.shutdownLock.Lock()
	defer a.shutdownLock.Unlock()
	if a.shutdown {
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
	a.shutdown = true
	close(a.shutdownCh)
	return nil
}

// Wait blocks until the event loop has exited after Shutdown.
func (a *Agent) Wait() {
	if a.serf != nil {
		<-a.loopDone
	}
}

// RegisterEventHandler adds a handler for every later event.
func (a *Agent) RegisterEventHandler(h EventHandler) {
	a.handlersLock.Lock()
	defer a.handlersLock.Unlock()
	a.handlers[h] = struct{}{}
	a.rebuildHandlers()
}

// DeregisterEventHandler removes a handler.
func (a *Agent) DeregisterEventHandler(h EventHandler) {
	a.handlersLock.Lock()
	defer a.handlersLock.Unlock()
	delete(a.handlers, h)
	a.rebuildHandlers()
}

// rebuildHandlers makes a new list so the event loop can keep using the
// old one without a copy. Must hold handlersLock.
func (a *Agent) rebuildHandlers() {
	list := make([]EventHandler, 0, len(a.handlers))
	for h := range a.handlers {
		list = append(list, h)
	}
	a.handlerList = list
}

func (a *Agent) eventLoop() {
	defer close(a.loopDone)
	serfDown := a.serf.ShutdownCh()
	for {
		select {
		case e := <-a.eventCh:
			a.logger.Printf("[INFO] agent: Received event: %s", e.String())
			a.handlersLock.Lock()
			list := a.handlerList
			a.handlersLock.Unlock()
			for _, h := range list {
				h.HandleEvent(e)
			}
		case <-serfDown:
			// Shutdown stopping Serf closes serfDown too, before
			// shutdownCh; only a Serf that stopped by itself (a lost name
			// conflict, a library caller) is worth the warning.
			if !a.stopping.Load() {
				a.logger.Printf("[WARN] agent: Serf shutdown detected, quitting")
				// Serf is down already, so this only marks the agent down.
				_ = a.Shutdown()
			}
			return
		case <-a.shutdownCh:
			return
		}
	}
}

// Join joins the cluster through addrs. replay delivers old user events.
func (a *Agent) Join(addrs []string, replay bool) (int, error) {
	a.logger.Printf("[INFO] agent: joining: %v replay: %v", addrs, replay)
	n, err := a.serf.Join(addrs, !replay)
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
// the bare _serf_ping that `serf reachability` sends.
func (a *Agent) Query(name string, payload []byte, params *serf.QueryParam) (*serf.QueryResponse, error) {
	if strings.HasPrefix(name, serf.InternalQueryPrefix) &&
		(name != serf.InternalQueryPrefix+"ping" || payload != nil) {
		return nil, fmt.Errorf("Queries cannot contain the '%s' prefix", serf.InternalQueryPrefix)
	}
	a.logger.Printf("[DEBUG] agent: Requesting query send: %s. Payload: %#v", name, string(payload))
	resp, err := a.serf.Query(name, payload, params)
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

// Stats is what `serf info` shows.
func (a *Agent) Stats() map[string]map[string]string {
	local := a.serf.LocalMember()
	return map[string]map[string]string{
		"agent":          {"name": local.Name},
		"runtime":        runtimeStats(),
		"serf":           a.serf.Stats(),
		"tags":           local.Tags,
		"event_handlers": a.EventHandlerKeys(),
	}
}

func (a *Agent) loadTagsFile() error {
	if len(a.serfConf.Tags) > 0 {
		return errTagsWithTagsFile
	}
	data, err := os.ReadFile(a.opts.TagsFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Failed to read tags file: %s", err)
	}
	tags := map[string]string{}
	if err := json.Unmarshal(data, &tags); err != nil {
		return fmt.Errorf("Failed to decode tags file: %s", err)
	}
	a.serfConf.Tags = tags
	a.logger.Printf("[INFO] agent: Restored %d tag(s) from %s", len(tags), a.opts.TagsFile)
	return nil
}

// writeTagsFile saves tags as indented JSON, replacing the file (the
// target of a symlink) atomically; a new file gets mode 0600, an existing
// one keeps its mode and owner.
func writeTagsFile(path string, tags map[string]string) error {
	data, err := json.MarshalIndent(tags, "", "  ")
	if err != nil {
		return fmt.Errorf("Failed to encode tags: %s", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("Failed to write tags file: %s", err)
	}
	return nil
}

func (a *Agent) loadKeyringFile() error {
	if a.opts.EncryptKey != "" {
		return errKeyWithKeyring
	}
	if _, err := os.Stat(a.opts.KeyringFile); err != nil {
		return err
	}
	data, err := os.ReadFile(a.opts.KeyringFile)
	if err != nil {
		return fmt.Errorf("Failed to read keyring file: %s", err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return fmt.Errorf("Failed to decode keyring file: %s", err)
	}
	keys := make([][]byte, 0, len(encoded))
	for _, k := range encoded {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return fmt.Errorf("Failed to decode key from keyring: %s", err)
		}
		keys = append(keys, raw)
	}
	if len(keys) == 0 {
		return errors.New("Keyring file contains no keys")
	}
	ring, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return fmt.Errorf("Failed to restore keyring: %s", err)
	}
	a.serfConf.MemberlistConfig.Keyring = ring
	a.serfConf.KeyringFile = a.opts.KeyringFile
	a.logger.Printf("[INFO] agent: Restored keyring with %d keys from %s", len(keys), a.opts.KeyringFile)
	return nil
}

// scriptHandler adapts the script runner, which never blocks, to the
// agent's handler list.
type scriptHandler struct{ r *event.Runner }

func (h scriptHandler) HandleEvent(e serf.Event) { h.r.Handle(e) }
