package serf

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"
)

// ProtocolVersionMin is the oldest protocol version this package speaks.
// The Serf protocol version travels as memberlist's delegate version;
// memberlist itself always runs protocol 2 (see ProtocolVersionMap). As in Serf, the minimum is a uint8 and the
// maximum an untyped constant, so that both "var v uint8 =
// serf.ProtocolVersionMin" and "var v int = serf.ProtocolVersionMax"
// compile in programs written for Serf.
const ProtocolVersionMin uint8 = 2

// ProtocolVersionMax is the newest protocol; see ProtocolVersionMin.
const ProtocolVersionMax = 5

// ProtocolVersionMap maps each Serf protocol version to the memberlist
// protocol it runs on. Every version Serf ships maps to 2. Create reads it;
// changing it changes what new nodes speak.
var ProtocolVersionMap = map[uint8]uint8{2: 2, 3: 2, 4: 2, 5: 2}

// UserEventSizeLimit is the hard cap on a user event, before and after
// encoding, whatever Config.UserEventSizeLimit says.
const UserEventSizeLimit = 9 * 1024

// Config configures a Serf node. Zero durations and sizes are not "use the
// default": start from DefaultConfig and change what you need.
//
// Create works from a copy but, as Serf's Create does, writes back into
// the caller's struct what programs read from it afterwards: Tags is
// allocated (Init), EventCh becomes the channel at the head of the node's
// event pipeline, and MemberlistConfig is the one memberlist runs with,
// its Name, delegates and protocol versions set and, when BindPort was 0,
// the port bound in BindPort and AdvertisePort.
type Config struct {
	// NodeName must be unique in the cluster. Default: the host name.
	NodeName string

	// Tags are gossiped in memberlist node metadata and must encode to at
	// most memberlist.MetaMaxSize (512) bytes.
	Tags map[string]string

	// EventCh receives member events, user events and queries (*Query);
	// Serf's own internal queries are answered inside the library and not
	// delivered. Nil means events are not delivered. The library never
	// blocks on it: see EventQueueDepth.
	EventCh chan<- Event

	// EventQueueDepth is how many events may wait for a slow EventCh reader
	// before new events are dropped (counted in serf.events.dropped).
	// Default 4096.
	EventQueueDepth int

	// ProtocolVersion is the Serf protocol to speak, 2 to 5. Default 4,
	// as Serf's library; the agent uses 5.
	ProtocolVersion uint8

	// BroadcastTimeout bounds how long Leave, force-leave and SetTags wait
	// for their broadcast to be sent. Default 5s.
	BroadcastTimeout time.Duration

	// LeavePropagateDelay is how long Leave keeps the node up after its
	// leave was broadcast, so that peers probing it learn of the leave
	// rather than declaring it failed. Default 1s.
	LeavePropagateDelay time.Duration

	// CoalescePeriod and QuiescentPeriod enable member event coalescing
	// when both are positive: events are gathered until QuiescentPeriod
	// passes without one, or CoalescePeriod after the first. Default 0
	// (off); the agent uses 3s and 1s.
	CoalescePeriod  time.Duration
	QuiescentPeriod time.Duration

	// UserCoalescePeriod and UserQuiescentPeriod do the same for user
	// events sent with coalescing allowed: only the newest of each name is
	// delivered. Default 0 (off); the agent uses 3s and 1s.
	UserCoalescePeriod  time.Duration
	UserQuiescentPeriod time.Duration

	// ReapInterval is how often failed and left members past their timeout
	// are erased. Default 15s.
	ReapInterval time.Duration

	// ReconnectInterval is how often a failed member is tried again.
	// Default 30s.
	ReconnectInterval time.Duration

	// ReconnectTimeout is how long a failed member is kept (and retried)
	// before it is reaped. Default 24h.
	ReconnectTimeout time.Duration

	// TombstoneTimeout is how long a left member is kept before it is
	// reaped. Default 24h.
	TombstoneTimeout time.Duration

	// HealInterval turns on healing (heal.go) when positive: failed
	// members that are reaped, and the peers remembered in the snapshot,
	// are kept on a list of at most HealMaxPeers and joined (through
	// memberlist, as a reconnect) until one answers, so that halves of a
	// cluster cut apart for longer than ReconnectTimeout meet again. A
	// lost peer is first tried HealInterval after it is lost, and the wait
	// doubles after each failed attempt, up to HealMaxInterval, each wait
	// varied by HealJitter. Members that left are never tried. Default 0
	// (off), as Serf, which never contacts a reaped peer.
	HealInterval time.Duration

	// HealMaxInterval caps the wait between attempts to one lost peer; at
	// least HealInterval when healing is on. Default 5m.
	HealMaxInterval time.Duration

	// HealJitter varies each wait by up to this fraction of it, either
	// way, so that the nodes of a cluster do not try in step. From 0 (no
	// jitter) to below 1. Default 0.2.
	HealJitter float64

	// HealMaxPeers bounds the heal list; when it is full, the peer lost
	// longest ago makes room. At least 1 when healing is on. Default 256.
	HealMaxPeers int

	// FlapTimeout: a failed member that comes back within it counts as a
	// flap in the serf.member.flap metric. Default 60s.
	FlapTimeout time.Duration

	// QueueCheckInterval is how often the broadcast queues are measured.
	// Default 30s.
	QueueCheckInterval time.Duration

	// QueueDepthWarning is the queue depth that logs a warning. Default 128.
	QueueDepthWarning int

	// MaxQueueDepth is the queue depth past which the oldest broadcasts are
	// dropped. Default 4096. Ignored when MinQueueDepth is positive.
	MaxQueueDepth int

	// MinQueueDepth, when positive, makes the limit dynamic: twice the
	// number of members, but at least MinQueueDepth. Default 0.
	MinQueueDepth int

	// RecentIntentTimeout is how long a join or leave intent for a node
	// not yet known is kept. Default 5m.
	RecentIntentTimeout time.Duration

	// EventBuffer is how many user event Lamport times are remembered to
	// drop duplicates; it is also the size of the event list in push/pull
	// messages, which Serf peers expect to be 512. Default 512.
	EventBuffer int

	// QueryBuffer is how many query Lamport times are remembered to drop
	// duplicate queries. Default 512.
	QueryBuffer int

	// QueryTimeoutMult scales the default query timeout:
	// GossipInterval x QueryTimeoutMult x ceil(log10(N+1)). Default 16.
	QueryTimeoutMult int

	// QueryResponseSizeLimit and QuerySizeLimit cap encoded query responses
	// and queries in bytes. Default 1024 each.
	QueryResponseSizeLimit int
	QuerySizeLimit         int

	// UserEventSizeLimit caps a user event's name plus payload, and its
	// encoding, in bytes. At most UserEventSizeLimit (9216). Default 512.
	UserEventSizeLimit int

	// MemberlistConfig configures the gossip layer. Create sets the node
	// name, delegates and protocol versions on it and hands it to
	// memberlist, which fills in the bound port when BindPort is 0.
	// Memberlist logs through its own Logger or LogOutput (default
	// os.Stderr), not through Logger below, as in Serf. Default
	// memberlist.DefaultLANConfig().
	MemberlistConfig *memberlist.Config

	// Logger receives log lines as "[LEVEL] serf: message". When nil a
	// logger writing to LogOutput (default os.Stderr) is made.
	Logger    *log.Logger
	LogOutput io.Writer

	// Metrics receives the library's metrics. Nil means go-metrics' global
	// instance, which memberlist uses too.
	Metrics *metrics.Metrics

	// MetricLabels are added to every metric the node emits.
	MetricLabels []metrics.Label

	// SnapshotPath, when set, is the file membership and clocks are saved
	// to so a restarted node can rejoin.
	SnapshotPath string

	// RejoinAfterLeave lets a node that left rejoin from its snapshot.
	RejoinAfterLeave bool

	// EnableNameConflictResolution lets a node whose name is claimed by
	// another ask the cluster who should keep it. Default true.
	EnableNameConflictResolution bool

	// DisableCoordinates turns off Vivaldi coordinates on pings.
	DisableCoordinates bool

	// KeyringFile is rewritten after every keyring change when set.
	KeyringFile string

	// Merge, when set, may veto nodes joining the cluster.
	Merge MergeDelegate

	// ReconnectTimeoutOverride may choose a per-member ReconnectTimeout.
	ReconnectTimeoutOverride ReconnectTimeoutOverrider

	// ValidateNodeNames rejects node names that are not 1 to 128
	// alphanumerics, dashes and dots.
	ValidateNodeNames bool

	// MsgpackUseNewTimeFormat asks for time.Time values to be encoded in
	// msgpack's newer format. It exists for programs written for Serf's
	// library, which has it; no gossip message carries a time.Time, so
	// it changes no byte on the wire, in Serf as here.
	MsgpackUseNewTimeFormat bool

	// noEarlyRefute leaves refutation to memberlist alone (refute.go);
	// tests compare the two.
	noEarlyRefute bool
	// messageDropper lets tests drop incoming messages of a given type.
	messageDropper func(messageType) bool
}

// MergeDelegate may refuse a merge of members into the cluster.
type MergeDelegate interface {
	NotifyMerge([]*Member) error
}

// ReconnectTimeoutOverrider picks the reconnect timeout of one member.
type ReconnectTimeoutOverrider interface {
	ReconnectTimeout(member *Member, timeout time.Duration) time.Duration
}

// Init allocates what a zero Config lacks (the Tags map), as Serf's does.
// Create calls it on the caller's Config.
func (c *Config) Init() {
	if c.Tags == nil {
		c.Tags = make(map[string]string)
	}
}

// DefaultConfig returns the library defaults, which match Serf's library.
func DefaultConfig() *Config {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = ""
	}
	return &Config{
		NodeName:                     hostname,
		EventQueueDepth:              4096,
		ProtocolVersion:              4,
		BroadcastTimeout:             5 * time.Second,
		LeavePropagateDelay:          1 * time.Second,
		ReapInterval:                 15 * time.Second,
		ReconnectInterval:            30 * time.Second,
		ReconnectTimeout:             24 * time.Hour,
		TombstoneTimeout:             24 * time.Hour,
		HealMaxInterval:              5 * time.Minute,
		HealJitter:                   0.2,
		HealMaxPeers:                 256,
		FlapTimeout:                  60 * time.Second,
		QueueCheckInterval:           30 * time.Second,
		QueueDepthWarning:            128,
		MaxQueueDepth:                4096,
		RecentIntentTimeout:          5 * time.Minute,
		EventBuffer:                  512,
		QueryBuffer:                  512,
		QueryTimeoutMult:             16,
		QueryResponseSizeLimit:       1024,
		QuerySizeLimit:               1024,
		UserEventSizeLimit:           512,
		EnableNameConflictResolution: true,
		MemberlistConfig:             memberlist.DefaultLANConfig(),
	}
}

// Validate reports the first setting that Create cannot work with. The
// protocol and event size messages are Serf's own.
func (c *Config) Validate() error {
	if c.ProtocolVersion < ProtocolVersionMin {
		return fmt.Errorf("Protocol version '%d' too low. Must be in range: [%d, %d]",
			c.ProtocolVersion, ProtocolVersionMin, ProtocolVersionMax)
	}
	if c.ProtocolVersion > ProtocolVersionMax {
		return fmt.Errorf("Protocol version '%d' too high. Must be in range: [%d, %d]",
			c.ProtocolVersion, ProtocolVersionMin, ProtocolVersionMax)
	}
	if c.UserEventSizeLimit > UserEventSizeLimit {
		return fmt.Errorf("user event size limit exceeds limit of %d bytes", UserEventSizeLimit)
	}
	if c.MemberlistConfig == nil {
		return fmt.Errorf("MemberlistConfig must be set")
	}
	positive := []struct {
		name string
		v    time.Duration
	}{
		{"ReapInterval", c.ReapInterval},
		{"ReconnectInterval", c.ReconnectInterval},
		{"QueueCheckInterval", c.QueueCheckInterval},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%s must be positive, got %v", p.name, p.v)
		}
	}
	sizes := []struct {
		name string
		v    int
	}{
		{"EventBuffer", c.EventBuffer},
		{"QueryBuffer", c.QueryBuffer},
		{"EventQueueDepth", c.EventQueueDepth},
		{"QueryTimeoutMult", c.QueryTimeoutMult},
	}
	for _, s := range sizes {
		if s.v < 1 {
			return fmt.Errorf("%s must be at least 1, got %d", s.name, s.v)
		}
	}
	return c.validateHeal()
}

// validateHeal checks the healing settings; with HealInterval zero or
// negative healing is off and the others are not looked at.
func (c *Config) validateHeal() error {
	if c.HealInterval <= 0 {
		return nil
	}
	if c.HealMaxInterval < c.HealInterval {
		return fmt.Errorf("HealMaxInterval must be at least HealInterval (%v), got %v", c.HealInterval, c.HealMaxInterval)
	}
	if c.HealJitter < 0 || c.HealJitter >= 1 {
		return fmt.Errorf("HealJitter must be at least 0 and below 1, got %v", c.HealJitter)
	}
	if c.HealMaxPeers < 1 {
		return fmt.Errorf("HealMaxPeers must be at least 1, got %d", c.HealMaxPeers)
	}
	return nil
}
