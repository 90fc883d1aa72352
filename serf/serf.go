package serf

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/coordinate"
)

// SerfState is the lifecycle state of a Serf node.
type SerfState int

const (
	SerfAlive SerfState = iota
	SerfLeaving
	SerfLeft
	SerfShutdown
)

func (s SerfState) String() string {
	switch s {
	case SerfAlive:
		return "alive"
	case SerfLeaving:
		return "leaving"
	case SerfLeft:
		return "left"
	case SerfShutdown:
		return "shutdown"
	default:
		return "unknown"
	}
}

// Errors returned by the lifecycle methods, worded as Serf words them.
var (
	ErrJoinAfterLeave     = errors.New("Serf can't Join after Leave or Shutdown")
	ErrLeaveInProgress    = errors.New("Leave already in progress")
	ErrLeaveAfterShutdown = errors.New("Leave called after Shutdown")
	ErrForceLeaveTimeout  = errors.New("timed out broadcasting node removal")
)

// FeatureNotSupported is returned when a feature needs a newer protocol
// than the cluster speaks. The name is Serf's.
//
//lint:ignore ST1012 the name is Serf's API
var FeatureNotSupported = errors.New("Feature not supported")

// MaxNodeNameLength is the longest name ValidateNodeNames accepts.
const MaxNodeNameLength int = 128

// Serf is one node of a Serf cluster.
type Serf struct {
	config  *Config
	logger  *log.Logger
	metrics *metrics.Metrics
	labels  []metrics.Label

	// The three Lamport clocks: membership intents, user events, queries.
	clock      LamportClock
	eventClock LamportClock
	queryClock LamportClock

	memberlist *memberlist.Memberlist
	// repeats is the transport's record of gossip handed on, when it
	// drops repeated gossip (repeats.go); nil otherwise.
	repeats *gossipRepeats
	// refuter answers accusations of this node that the transport sees
	// before memberlist queues them (refute.go); nil when it cannot see
	// them.
	refuter *refuter
	// tellCh carries the accusations this node raised to tellLoop
	// (refute.go).
	tellCh chan telling
	// accusers are the members whose accusations were refuted, waiting
	// for the refutation to go out (refute.go); accused says there are.
	accuserLock sync.Mutex
	accusers    []string
	accused     atomic.Bool
	// mlLogger is memberlist's logger, for the lines refute.go logs in
	// its place.
	mlLogger *log.Logger

	// Broadcast queues: intents (join/leave), user events and queries. Each
	// sizes its retransmits from the number of known members.
	broadcasts      *memberlist.TransmitLimitedQueue
	eventBroadcasts *memberlist.TransmitLimitedQueue
	queryBroadcasts *memberlist.TransmitLimitedQueue

	memberLock    sync.RWMutex
	members       map[string]*memberState // guarded by memberLock
	failedMembers []*memberState          // guarded by memberLock
	leftMembers   []*memberState          // guarded by memberLock
	recentIntents map[string]nodeIntent   // guarded by memberLock
	heal          healList                // guarded by memberLock; see heal.go
	selfLeaves    selfLeaves              // nodes that announced their leave; see selfleave.go

	eventLock    sync.RWMutex
	eventBuffer  []*userEvents // guarded by eventLock; slot = LTime mod len
	eventMinTime LamportTime   // guarded by eventLock
	// eventJoinIgnore is set during Join(ignoreOld=true): a push/pull merge
	// then raises eventMinTime so old events are not replayed.
	eventJoinIgnore atomic.Bool
	joinLock        sync.Mutex // serialises Join so eventJoinIgnore is sound

	// Join sync (join_sync.go): newMemberCh (capacity 1) is signalled
	// whenever a member comes alive; joinSyncRunning is set while the
	// joinSync goroutine runs.
	newMemberCh     chan struct{}
	joinSyncRunning atomic.Bool

	queryLock     sync.RWMutex
	queryBuffer   []*queries                     // guarded by queryLock; slot = LTime mod len
	queryMinTime  LamportTime                    // guarded by queryLock
	queryResponse map[LamportTime]*QueryResponse // guarded by queryLock; queries we sent
	// skipQueryGossip leaves our queries out of gossip, so that only
	// redelivery carries them (tests only).
	skipQueryGossip atomic.Bool

	keyManager *KeyManager
	snapshot   *snapshotter // nil without Config.SnapshotPath

	coordClient    *coordinate.Client
	coordCacheLock sync.RWMutex
	coordCache     map[string]*coordinate.Coordinate // guarded by coordCacheLock

	// eventQ is the head of the delivery pipeline. Senders never block on
	// it: a full queue drops the event (counted in droppedEvents).
	eventQ        chan Event
	droppedEvents atomic.Uint64

	// leaveIntent is this node's encoded leave intent once it has begun
	// to leave memberlist, nil before: GetBroadcasts adds it to every
	// gossip packet from then on (see Leave).
	leaveIntent atomic.Pointer[[]byte]

	stateLock  sync.Mutex
	state      SerfState // guarded by stateLock
	shutdownCh chan struct{}

	// leaveLock is held by Leave from its last look at the state through
	// memberlist's Leave, and by Shutdown around memberlist's Shutdown:
	// memberlist panics on a Leave after its Shutdown.
	leaveLock sync.Mutex

	// goLock guards starting goroutines against Shutdown waiting for them.
	goLock   sync.Mutex
	stopping bool // guarded by goLock
	wg       sync.WaitGroup
}

// Create starts a Serf node: it validates and copies the configuration,
// starts the delivery pipeline and memberlist, and the background tasks
// (reaper, reconnector, queue checks). The node is alone until Join.
func Create(conf *Config) (*Serf, error) {
	if conf == nil {
		return nil, errors.New("serf: nil config")
	}
	conf.Init()
	if err := conf.Validate(); err != nil {
		return nil, err
	}
	// The node works from a copy of conf, but memberlist runs with the
	// caller's MemberlistConfig, as in Serf: programs read the bound port
	// and the delegates from it.
	cfg := *conf
	mlc := conf.MemberlistConfig
	cfg.Tags = copyTags(conf.Tags)

	logger := loggerFor(cfg.Logger, cfg.LogOutput)
	m := cfg.Metrics
	if m == nil {
		m = metrics.Default()
	}

	s := &Serf{
		config:        &cfg,
		logger:        logger,
		metrics:       m,
		labels:        cfg.MetricLabels,
		members:       make(map[string]*memberState),
		recentIntents: make(map[string]nodeIntent),
		eventBuffer:   make([]*userEvents, cfg.EventBuffer),
		queryBuffer:   make([]*queries, cfg.QueryBuffer),
		queryResponse: make(map[LamportTime]*QueryResponse),
		eventQ:        make(chan Event, cfg.EventQueueDepth),
		shutdownCh:    make(chan struct{}),
		newMemberCh:   make(chan struct{}, 1),
	}

	meta, err := encodeTags(cfg.ProtocolVersion, cfg.Tags)
	if err != nil {
		return nil, err
	}
	if len(meta) > memberlist.MetaMaxSize {
		return nil, errTagsTooLarge
	}
	if err := s.ValidateNodeNames(); err != nil {
		return nil, err
	}

	if !cfg.DisableCoordinates {
		coordConf := coordinate.DefaultConfig()
		coordConf.MetricLabels = cfg.MetricLabels
		cc, err := coordinate.NewClient(coordConf)
		if err != nil {
			return nil, fmt.Errorf("Failed to create coordinate client: %w", err)
		}
		s.coordClient = cc
		s.coordCache = map[string]*coordinate.Coordinate{cfg.NodeName: cc.GetCoordinate()}
	}

	numNodes := s.numMembers
	s.broadcasts = &memberlist.TransmitLimitedQueue{NumNodes: numNodes, RetransmitMult: mlc.RetransmitMult}
	s.eventBroadcasts = &memberlist.TransmitLimitedQueue{NumNodes: numNodes, RetransmitMult: mlc.RetransmitMult}
	s.queryBroadcasts = &memberlist.TransmitLimitedQueue{NumNodes: numNodes, RetransmitMult: mlc.RetransmitMult}

	// Clocks start at 1 so that an intent stamped 0 (a node that never
	// sent one) is always older than anything real.
	s.clock.Increment()
	s.eventClock.Increment()
	s.queryClock.Increment()

	// Restore the clocks from the snapshot before any socket opens, so
	// nothing old is replayed to this node.
	var previous []PreviousNode
	if cfg.SnapshotPath != "" {
		snap, err := openSnapshot(cfg.SnapshotPath, cfg.RejoinAfterLeave, logger, &s.clock)
		if err != nil {
			return nil, fmt.Errorf("Failed to setup snapshot: %w", err)
		}
		snap.serf = s
		s.snapshot = snap
		s.clock.Witness(snap.lastClock.Load())
		s.eventClock.Witness(snap.lastEventClock.Load())
		s.queryClock.Witness(snap.lastQueryClock.Load())
		s.eventMinTime = snap.lastEventClock.Load() + 1
		s.queryMinTime = snap.lastQueryClock.Load() + 1
		previous = snap.previousNodes()
		s.seedHealList(previous)
		s.goFunc(func() { snap.run(s.shutdownCh) })
	}

	// The pipeline must run before memberlist starts: memberlist reports
	// the local node joining from inside Create.
	s.startPipeline()

	mlc.Name = cfg.NodeName
	mlc.Events = &eventDelegate{serf: s}
	mlc.Conflict = &conflictDelegate{serf: s}
	mlc.Delegate = &delegate{serf: s}
	mlc.DelegateProtocolVersion = cfg.ProtocolVersion
	mlc.DelegateProtocolMin = ProtocolVersionMin
	mlc.DelegateProtocolMax = ProtocolVersionMax
	mlc.ProtocolVersion = ProtocolVersionMap[cfg.ProtocolVersion]
	if !cfg.DisableCoordinates {
		mlc.Ping = &pingDelegate{serf: s}
	}
	if cfg.Merge != nil {
		md := &mergeDelegate{serf: s}
		mlc.Merge = md
		mlc.Alive = md
	}
	mlc.MetricLabels = cfg.MetricLabels

	// Our transport replaces memberlist's default one; see transport.go.
	// It logs where memberlist would: its Logger, else its LogOutput,
	// else standard error.
	var transport *netTransport
	userTransport := mlc.Transport
	if mlc.Transport == nil {
		mlLogger := loggerFor(mlc.Logger, mlc.LogOutput)
		transport, err = newNetTransport(mlc.BindAddr, mlc.BindPort, mlLogger, m, mlc.MetricLabels, mlc.CIDRsAllowed)
		if err != nil {
			s.stopGoroutines()
			return nil, fmt.Errorf("Failed to create memberlist: could not set up network transport: %w", err)
		}
		if mlc.BindPort == 0 {
			// As memberlist does for its own transport: joins default to
			// this port and the node advertises it.
			mlc.BindPort = transport.AutoBindPort()
			mlc.AdvertisePort = mlc.BindPort
			mlLogger.Printf("[DEBUG] memberlist: Using dynamic bind port %d", mlc.BindPort)
		}
		mlc.Transport = transport
	}

	// memberlist gets a copy of its configuration when our transport
	// compresses in its place (compress.go); the caller's keeps its
	// settings.
	//
	// Our transport reads the gossip it carries only when nothing seals
	// it: no encryption, no label.
	reads := transport != nil && mlc.Label == "" && !encrypts(mlc)
	mlConf := mlc
	if reads && mlc.EnableCompression {
		transport.compress.Store(true)
		c := *mlc
		c.EnableCompression = false
		mlConf = &c
	}
	// So is it when the transport drops repeated gossip (repeats.go),
	// with memberlist's log tapped for the messages its queue drops.
	var repeats *gossipRepeats
	if reads {
		repeats = newGossipRepeats(cfg.NodeName)
		mlConf = tapQueueDrops(mlConf, repeats.forgetAll)
	}
	ml, err := memberlist.Create(mlConf)
	// Memberlist read the transport at creation and keeps its own
	// reference; the caller's config keeps what the caller put there,
	// nil for memberlist's default, as with Serf's Create.
	mlc.Transport = userTransport
	if err != nil {
		if transport != nil {
			_ = transport.Shutdown()
		}
		s.stopGoroutines()
		return nil, fmt.Errorf("Failed to create memberlist: %w", err)
	}
	s.memberlist = ml
	conf.EventCh = s.eventQ
	if reads {
		transport.sorts.Store(true)
		transport.selfLeaves.Store(&s.selfLeaves)
		transport.repeats.Store(repeats)
		s.repeats = repeats
		if !cfg.noEarlyRefute {
			s.refuter = &refuter{answer: s.refute}
			s.mlLogger = transport.logger
			s.tellCh = make(chan telling, tellQueueDepth)
			s.goFunc(func() { s.tellLoop(transport) })
			transport.watch.Store(&selfWatch{name: cfg.NodeName, accused: s.refuter.accused, told: s.told,
				answering: s.accused.Load, answered: s.answered})
		}
	}
	s.keyManager = &KeyManager{serf: s}

	s.goFunc(s.reapLoop)
	s.goFunc(s.reconnectLoop)
	if s.healing() {
		s.goFunc(s.healLoop)
	}
	s.goFunc(func() { s.checkQueueDepth("Intent", s.broadcasts) })
	s.goFunc(func() { s.checkQueueDepth("Event", s.eventBroadcasts) })
	s.goFunc(func() { s.checkQueueDepth("Query", s.queryBroadcasts) })
	if len(previous) > 0 {
		s.goFunc(func() { s.rejoin(previous) })
	}
	return s, nil
}

// encrypts reports whether memberlist may encrypt with conf: it has a
// key, or a keyring, which keys installed later would fill.
func encrypts(conf *memberlist.Config) bool {
	return len(conf.SecretKey) > 0 || conf.Keyring != nil
}

// loggerFor is the logger a config asks for: its Logger, else one that
// writes to its LogOutput, else to standard error. Serf and memberlist
// choose theirs alike.
func loggerFor(logger *log.Logger, out io.Writer) *log.Logger {
	if logger != nil {
		return logger
	}
	if out == nil {
		out = os.Stderr
	}
	return log.New(out, "", log.LstdFlags)
}

// goFunc runs f in a goroutine that Shutdown waits for. Once shutdown has
// begun it starts nothing and returns false.
func (s *Serf) goFunc(f func()) bool {
	s.goLock.Lock()
	defer s.goLock.Unlock()
	if s.stopping {
		return false
	}
	s.wg.Go(f)
	return true
}

// stopGoroutines closes shutdownCh and waits for every goroutine started
// with goFunc. It must be called once.
func (s *Serf) stopGoroutines() {
	s.goLock.Lock()
	s.stopping = true
	s.goLock.Unlock()
	close(s.shutdownCh)
	s.wg.Wait()
}

// ProtocolVersion is the Serf protocol this node speaks.
func (s *Serf) ProtocolVersion() uint8 { return s.config.ProtocolVersion }

// EncryptionEnabled reports whether gossip is encrypted.
func (s *Serf) EncryptionEnabled() bool { return s.config.MemberlistConfig.Keyring != nil }

// Memberlist returns the underlying memberlist.
func (s *Serf) Memberlist() *memberlist.Memberlist { return s.memberlist }

// ShutdownCh is closed when the node has shut down.
func (s *Serf) ShutdownCh() <-chan struct{} { return s.shutdownCh }

// State returns the node's lifecycle state.
func (s *Serf) State() SerfState {
	s.stateLock.Lock()
	defer s.stateLock.Unlock()
	return s.state
}

// LocalMember returns this node as a member.
func (s *Serf) LocalMember() Member {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	if m, ok := s.members[s.config.NodeName]; ok {
		return m.Member
	}
	return Member{Name: s.config.NodeName, Tags: copyTags(s.config.Tags)}
}

// Members returns every known member, this node included, with failed and
// left members until they are reaped. Treat Addr and Tags as read-only.
func (s *Serf) Members() []Member {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	out := make([]Member, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, m.Member)
	}
	return out
}

// numMembers counts every known member, failed and left included. It sizes
// the retransmit count of Serf's broadcasts, as in Serf.
func (s *Serf) numMembers() int {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	return len(s.members)
}

// NumNodes is the number of known members, failed and left included.
func (s *Serf) NumNodes() int { return s.numMembers() }

// DroppedEvents is how many events were dropped because the EventCh
// reader fell too far behind.
func (s *Serf) DroppedEvents() uint64 { return s.droppedEvents.Load() }

// SetTags replaces this node's tags and gossips them, waiting up to
// BroadcastTimeout for the update to go out.
func (s *Serf) SetTags(tags map[string]string) error {
	meta, err := encodeTags(s.config.ProtocolVersion, tags)
	if err != nil {
		return err
	}
	if len(meta) > memberlist.MetaMaxSize {
		return errTagsTooLarge
	}
	s.memberLock.Lock()
	s.config.Tags = copyTags(tags)
	s.memberLock.Unlock()
	return s.memberlist.UpdateNode(s.config.BroadcastTimeout)
}

// localMeta encodes the current tags for memberlist.
func (s *Serf) localMeta() []byte {
	s.memberLock.RLock()
	tags := s.config.Tags
	s.memberLock.RUnlock()
	meta, err := encodeTags(s.config.ProtocolVersion, tags)
	if err != nil {
		s.logger.Printf("[ERR] serf: Failed to encode tags: %v", err)
		return nil
	}
	return meta
}

// Stats reports counters for operators (`serf info`).
func (s *Serf) Stats() map[string]string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	s.memberLock.RLock()
	members, failed, left := len(s.members), len(s.failedMembers), len(s.leftMembers)
	s.memberLock.RUnlock()
	stats := map[string]string{
		"members":      u(uint64(members)),
		"failed":       u(uint64(failed)),
		"left":         u(uint64(left)),
		"health_score": u(uint64(s.memberlist.GetHealthScore())),
		"member_time":  u(uint64(s.clock.Time())),
		"event_time":   u(uint64(s.eventClock.Time())),
		"query_time":   u(uint64(s.queryClock.Time())),
		"intent_queue": u(uint64(s.broadcasts.NumQueued())),
		"event_queue":  u(uint64(s.eventBroadcasts.NumQueued())),
		"query_queue":  u(uint64(s.queryBroadcasts.NumQueued())),
		"encrypted":    strconv.FormatBool(s.EncryptionEnabled()),
	}
	if !s.config.DisableCoordinates {
		stats["coordinate_resets"] = strconv.Itoa(s.coordClient.Stats().Resets)
	}
	return stats
}

// Shutdown stops the node at once, without telling the cluster: peers will
// see it fail. Call Leave first for a graceful departure. It returns when
// every goroutine the node started has exited, and is idempotent.
func (s *Serf) Shutdown() error {
	s.stateLock.Lock()
	if s.state == SerfShutdown {
		s.stateLock.Unlock()
		return nil
	}
	if s.state != SerfLeft {
		s.logger.Printf("[WARN] serf: Shutdown without a Leave")
	}
	s.state = SerfShutdown
	s.stateLock.Unlock()

	// A Leave already inside memberlist's is waited for (it ends at the
	// next gossip round, BroadcastTimeout at the most); a later one sees
	// SerfShutdown and stops short of it.
	s.leaveLock.Lock()
	err := s.memberlist.Shutdown()
	s.leaveLock.Unlock()
	// Close collectors first: goroutines reading their channels (name
	// conflict resolution) end then, and stopGoroutines can wait for them.
	s.closeQueries()
	s.stopGoroutines()
	return err
}

// broadcast encodes a message and queues it on the intent queue; notify,
// if not nil, is closed once the message has been sent enough times.
func (s *Serf) broadcast(t messageType, msg any, notify chan<- struct{}) error {
	raw, err := encodeMessage(t, msg)
	if err != nil {
		return err
	}
	s.broadcasts.QueueBroadcast(&broadcast{msg: raw, notify: notify})
	return nil
}

// hasAliveMembers reports whether any member other than this node is alive.
func (s *Serf) hasAliveMembers() bool {
	s.memberLock.RLock()
	defer s.memberLock.RUnlock()
	for name, m := range s.members {
		if name != s.config.NodeName && m.Status == StatusAlive {
			return true
		}
	}
	return false
}

// sleep waits for d or until shutdown; it reports false on shutdown.
func (s *Serf) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.shutdownCh:
		return false
	}
}

var invalidNameChars = regexp.MustCompile(`[^A-Za-z0-9\-\.]+`)

// ValidateNodeNames checks this node's name when Config.ValidateNodeNames
// is set: only letters, digits, dashes and dots, at most
// MaxNodeNameLength bytes. Create calls it; without the setting every
// name passes.
func (s *Serf) ValidateNodeNames() error {
	if !s.config.ValidateNodeNames {
		return nil
	}
	return validateNodeName(s.config.NodeName)
}

// validateNodeName applies Serf's optional node name rules.
func validateNodeName(name string) error {
	if invalidNameChars.MatchString(name) {
		return fmt.Errorf("Node name contains invalid characters %v , Valid characters include "+
			"all alpha-numerics and dashes and '.' ", name)
	}
	if len(name) > MaxNodeNameLength {
		return fmt.Errorf("Node name is %v characters. "+
			"Valid length is between 1 and 128 characters", len(name))
	}
	return nil
}

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}
