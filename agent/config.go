package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/serf"
)

// DefaultBindPort is the gossip port (TCP and UDP) used when a bind or
// advertise address has no port.
const DefaultBindPort = 7946

// Defaults for the settings whose accessors fall back to a value when
// unset. DefaultConfig uses the same values.
const (
	DefaultRetryInterval       = 30 * time.Second
	DefaultBroadcastTimeout    = 5 * time.Second
	DefaultPrometheusRetention = time.Minute
)

// MaxUserEventSizeLimit is the largest user_event_size_limit the Serf
// library accepts.
const MaxUserEventSizeLimit = serf.UserEventSizeLimit

// Config is the agent configuration, as read from JSON files (the
// mapstructure tags are the keys) and from `serf agent` flags.
//
// The type must stay named Config in package agent: mapstructure names it
// in its unknown-key error ("'agent.Config' has invalid keys: ..."), which
// users see exactly as Serf 0.11 prints it.
//
// Unset is not the same as zero. Strings are unset when empty. Bools and
// the integers where 0 means something are pointers, nil when unset, so
// that a later file or a flag can turn a bool off or set a count to 0
// (Serf ORs its bools and skips zero integers, so neither is possible
// there). Durations are kept as the Go duration strings the user wrote
// ("30s", "1h30m"), empty when unset; read them through the accessor of
// the same name without the Raw suffix. Protocol is a plain int because
// no protocol version is 0 or below: values up to 0 mean unset, as in
// Serf.
//
// DefaultConfig sets every pointer, so a configuration merged on top of
// it (as LoadConfig builds it) never holds a nil pointer.
type Config struct {
	// NodeName must be unique in the cluster. Empty: the host name (filled
	// in by LoadConfig after merging).
	NodeName string `mapstructure:"node_name"`

	// Role is deprecated: LoadConfig copies it into Tags["role"], with a
	// deprecation warning.
	Role string `mapstructure:"role"`

	// DisableCoordinates is accepted and merged but, as in Serf, the agent
	// never applies it: coordinates are always on.
	DisableCoordinates *bool `mapstructure:"disable_coordinates"`

	// Tags are gossiped with the node. Merging is key-wise: a later source
	// adds keys and replaces the values of keys it names.
	Tags map[string]string `mapstructure:"tags"`

	// TagsFile persists tags across restarts. It excludes Tags (and Role).
	TagsFile string `mapstructure:"tags_file"`

	// BindAddr is the gossip address, "ip[:port]" or "[ipv6][:port]".
	// Default "0.0.0.0"; port DefaultBindPort when omitted. See AddrParts.
	BindAddr string `mapstructure:"bind"`

	// AdvertiseAddr is the address announced to peers when it differs
	// from the bound one. A missing port means DefaultBindPort, not the
	// bind port.
	AdvertiseAddr string `mapstructure:"advertise"`

	// EncryptKey is the base64 gossip key (16, 24 or 32 bytes once
	// decoded). It excludes KeyringFile.
	EncryptKey string `mapstructure:"encrypt_key"`

	// KeyringFile holds the gossip keyring as a JSON array of base64 keys,
	// primary first.
	KeyringFile string `mapstructure:"keyring_file"`

	// LogLevel is TRACE, DEBUG, INFO, WARN or ERR, in any case. Default
	// INFO. Reloaded on SIGHUP.
	LogLevel string `mapstructure:"log_level"`

	// RPCAddr is the TCP address of the RPC listener. Default
	// client.DefaultRPCAddr, "127.0.0.1:7373".
	RPCAddr string `mapstructure:"rpc_addr"`

	// RPCAuthKey, when set, must be presented by every RPC client.
	RPCAuthKey string `mapstructure:"rpc_auth"`

	// Protocol is the Serf protocol version. Default 5; 0 and below are
	// unset.
	Protocol int `mapstructure:"protocol"`

	// ReplayOnJoin replays past user events on the joins the agent makes
	// itself (start, retry and mDNS joins). Default false.
	ReplayOnJoin *bool `mapstructure:"replay_on_join"`

	// QueryResponseSizeLimit and QuerySizeLimit cap a query response and
	// a query, in bytes. Default 1024 each.
	QueryResponseSizeLimit *int `mapstructure:"query_response_size_limit"`
	QuerySizeLimit         *int `mapstructure:"query_size_limit"`

	// UserEventSizeLimit caps a user event's name plus payload, in bytes.
	// Default 512, at most MaxUserEventSizeLimit.
	UserEventSizeLimit *int `mapstructure:"user_event_size_limit"`

	// StartJoin lists addresses joined at start; failing to reach all of
	// them is fatal. Merging concatenates.
	StartJoin []string `mapstructure:"start_join"`

	// EventHandlers lists handler specs ("filter=script", see
	// EventScripts). Merging concatenates. Reloaded on SIGHUP.
	EventHandlers []string `mapstructure:"event_handlers"`

	// Profile selects the memberlist timings: lan, wan or local. Default
	// lan.
	Profile string `mapstructure:"profile"`

	// SnapshotPath, when set, records membership and clocks so that a
	// restarted agent rejoins and does not replay old events.
	SnapshotPath string `mapstructure:"snapshot_path"`

	// LeaveOnTerm makes SIGTERM leave gracefully. Default false.
	// SkipLeaveOnInt makes SIGINT exit without leaving. Default false.
	// Both take effect again after a SIGHUP reload.
	LeaveOnTerm    *bool `mapstructure:"leave_on_terminate"`
	SkipLeaveOnInt *bool `mapstructure:"skip_leave_on_interrupt"`

	// Discover, when set, is the mDNS cluster name to advertise and look
	// for peers under.
	Discover string `mapstructure:"discover"`

	// MDNS tunes mDNS discovery; it only matters with Discover.
	MDNS MDNSSettings `mapstructure:"mdns"`

	// Interface names the network interface to bind to; with the default
	// bind address its first usable address is used. It is also the mDNS
	// interface unless MDNS.Interface is set.
	Interface string `mapstructure:"interface"`

	// ReconnectIntervalRaw, ReconnectTimeoutRaw and TombstoneTimeoutRaw
	// override the Serf library's reconnect and tombstone timings (30s,
	// 24h, 24h) when set to a non-zero duration.
	ReconnectIntervalRaw string `mapstructure:"reconnect_interval"`
	ReconnectTimeoutRaw  string `mapstructure:"reconnect_timeout"`
	TombstoneTimeoutRaw  string `mapstructure:"tombstone_timeout"`

	// Healing, beyond Serf (heal_config.go, docs/agent.md "Healing"):
	// HealIntervalRaw turns it on when set to a positive duration (default
	// off); HealMaxIntervalRaw caps the backoff (default 5m, or
	// heal_interval if longer); HealJitter varies each wait by that
	// fraction (default DefaultHealJitter); HealMaxPeers bounds the list
	// (default 256; 0 is unset). LoadConfig checks their bounds. A reload
	// does not change them.
	HealIntervalRaw    string   `mapstructure:"heal_interval"`
	HealMaxIntervalRaw string   `mapstructure:"heal_max_interval"`
	HealJitter         *float64 `mapstructure:"heal_jitter"`
	HealMaxPeers       int      `mapstructure:"heal_max_peers"`

	// DisableNameResolution turns off Serf's name conflict resolution.
	// Default false.
	DisableNameResolution *bool `mapstructure:"disable_name_resolution"`

	// EnableSyslog also sends log lines to syslog, with SyslogFacility
	// (default LOCAL0).
	EnableSyslog   *bool  `mapstructure:"enable_syslog"`
	SyslogFacility string `mapstructure:"syslog_facility"`

	// LogJSON writes the log lines to the terminal and syslog as JSON
	// objects, one a line (LogLineJSON), instead of Serf's text. `serf
	// monitor` still gets text. Default false; a reload does not change
	// it.
	LogJSON *bool `mapstructure:"log_json"`

	// RetryJoin lists addresses joined in the background until one join
	// succeeds. Merging concatenates.
	RetryJoin []string `mapstructure:"retry_join"`

	// RetryMaxAttempts bounds the retry joins; 0 means no bound. Default 0.
	RetryMaxAttempts *int `mapstructure:"retry_max_attempts"`

	// RetryIntervalRaw is the wait between retry joins. Default 30s;
	// LoadConfig raises anything below 1s to 1s.
	RetryIntervalRaw string `mapstructure:"retry_interval"`

	// RejoinAfterLeave ignores a leave recorded in the snapshot, so the
	// agent rejoins on start. Only useful with SnapshotPath.
	RejoinAfterLeave *bool `mapstructure:"rejoin_after_leave"`

	// EnableCompression compresses gossip messages. Default true.
	// Unlike Serf, where the file value is always overwritten by the
	// command line's, the value from files counts; -disable-compression
	// still forces it off.
	EnableCompression *bool `mapstructure:"enable_compression"`

	// StatsiteAddr and StatsdAddr ("host:port") add a telemetry sink.
	StatsiteAddr string `mapstructure:"statsite_addr"`
	StatsdAddr   string `mapstructure:"statsd_addr"`

	// HTTPAddr, beyond Serf, turns on the HTTP listener (health checks and
	// /metrics): "host:port", or "unix:///path" for a unix socket made
	// with HTTPUnixMode (octal, default 0600). With HTTPTLSCertFile and
	// HTTPTLSKeyFile it speaks TLS. HTTPAuth is the Bearer token every
	// endpoint but the health checks requires; RPCAuthKey when unset.
	HTTPAddr        string `mapstructure:"http_addr"`
	HTTPUnixMode    string `mapstructure:"http_unix_mode"`
	HTTPTLSCertFile string `mapstructure:"http_tls_cert_file"`
	HTTPTLSKeyFile  string `mapstructure:"http_tls_key_file"`
	HTTPAuth        string `mapstructure:"http_auth"`

	// UI, beyond Serf, serves the web UI (docs/ui.md) at /ui/ on the HTTP
	// listener; it needs HTTPAddr. Default false. A reload does not
	// change it.
	UI *bool `mapstructure:"ui"`

	// PrometheusRetentionRaw is how long /metrics keeps a series that is
	// no longer reported (a script's timing, a peer's counter); 0 keeps
	// them for ever. Default DefaultPrometheusRetention.
	PrometheusRetentionRaw string `mapstructure:"prometheus_retention_time"`

	// Memberlist's timings and sizes, beyond Serf (docs/agent.md, "Tuning
	// gossip"). Each one set overrides the profile's value; unset ones
	// (an empty duration, a zero number) keep it. LoadConfig checks their
	// bounds. A reload does not change them.
	GossipIntervalRaw       string `mapstructure:"gossip_interval"`
	GossipNodes             int    `mapstructure:"gossip_nodes"`
	GossipToTheDeadTimeRaw  string `mapstructure:"gossip_to_the_dead_time"`
	ProbeIntervalRaw        string `mapstructure:"probe_interval"`
	ProbeTimeoutRaw         string `mapstructure:"probe_timeout"`
	SuspicionMult           int    `mapstructure:"suspicion_mult"`
	SuspicionMaxTimeoutMult int    `mapstructure:"suspicion_max_timeout_mult"`
	RetransmitMult          int    `mapstructure:"retransmit_mult"`
	PushPullIntervalRaw     string `mapstructure:"push_pull_interval"`
	TCPTimeoutRaw           string `mapstructure:"tcp_timeout"`
	UDPBufferSize           int    `mapstructure:"udp_buffer_size"`

	// Label, beyond Serf, is memberlist's cluster label: every packet and
	// stream carries it, and those with another label (or none) are
	// refused, so two clusters on the same addresses cannot merge. It is
	// authenticated with the key when encryption is on. At most 255
	// bytes; empty (the default, and Serf's) is no label. Every member
	// must have the same one. A reload does not change it.
	Label string `mapstructure:"label"`

	// EncryptVerifyIncoming and EncryptVerifyOutgoing, beyond Serf, are
	// memberlist's GossipVerifyIncoming and GossipVerifyOutgoing. With a
	// key, false for incoming also accepts plaintext gossip, and false
	// for outgoing sends it: the steps of switching encryption on (or
	// off) in a running cluster (docs/operations.md). Default true each,
	// as Serf; without a key they do nothing. A reload does not change
	// them.
	EncryptVerifyIncoming *bool `mapstructure:"encrypt_verify_incoming"`
	EncryptVerifyOutgoing *bool `mapstructure:"encrypt_verify_outgoing"`

	// GossipAllowedCIDRs, beyond Serf, is memberlist's CIDRsAllowed: when
	// set, members whose address is outside these networks are refused,
	// and packets and streams from outside them are dropped unread. RPCAllowedCIDRs and HTTPAllowedCIDRs close
	// RPC and HTTP connections from outside theirs at once (unix sockets
	// are not checked). Each is a list of networks in CIDR notation
	// ("10.0.0.0/8", "::1/128"); unset or empty allows every address. A
	// later file or flag that sets one replaces the list. A reload does
	// not change them.
	GossipAllowedCIDRs []string `mapstructure:"gossip_allowed_cidrs"`
	RPCAllowedCIDRs    []string `mapstructure:"rpc_allowed_cidrs"`
	HTTPAllowedCIDRs   []string `mapstructure:"http_allowed_cidrs"`

	// BroadcastTimeoutRaw bounds how long a leave or tag broadcast is
	// waited for. Default 5s; LoadConfig raises anything below 1s to 1s.
	BroadcastTimeoutRaw string `mapstructure:"broadcast_timeout"`

	// ValidateNodeNames is accepted for compatibility; Serf's agent never
	// applies it.
	ValidateNodeNames *bool `mapstructure:"validate_node_names"`

	// MsgpackUseNewTimeFormat is accepted for compatibility (Serf has the
	// field without a tag, so the key is the field name, matched in any
	// case) and has no effect.
	MsgpackUseNewTimeFormat *bool
}

// MDNSSettings is the "mdns" object of the configuration.
type MDNSSettings struct {
	// Interface is the multicast interface. Empty: Config.Interface, or
	// all interfaces when that is empty too. Setting it requires Discover.
	Interface string `mapstructure:"interface"`

	// DisableIPv4 and DisableIPv6 turn off one IP version; not both.
	DisableIPv4 *bool `mapstructure:"disable_ipv4"`
	DisableIPv6 *bool `mapstructure:"disable_ipv6"`
}

// DefaultConfig returns the agent defaults. Every pointer field is set.
func DefaultConfig() *Config {
	return &Config{
		DisableCoordinates:     valuePtr(false),
		Tags:                   make(map[string]string),
		BindAddr:               "0.0.0.0",
		LogLevel:               "INFO",
		RPCAddr:                client.DefaultRPCAddr,
		Protocol:               int(serf.ProtocolVersionMax),
		ReplayOnJoin:           valuePtr(false),
		QueryResponseSizeLimit: valuePtr(1024),
		QuerySizeLimit:         valuePtr(1024),
		UserEventSizeLimit:     valuePtr(512),
		Profile:                "lan",
		LeaveOnTerm:            valuePtr(false),
		SkipLeaveOnInt:         valuePtr(false),
		MDNS: MDNSSettings{
			DisableIPv4: valuePtr(false),
			DisableIPv6: valuePtr(false),
		},
		DisableNameResolution:   valuePtr(false),
		EnableSyslog:            valuePtr(false),
		LogJSON:                 valuePtr(false),
		UI:                      valuePtr(false),
		SyslogFacility:          "LOCAL0",
		RetryMaxAttempts:        valuePtr(0),
		RetryIntervalRaw:        DefaultRetryInterval.String(),
		RejoinAfterLeave:        valuePtr(false),
		EnableCompression:       valuePtr(true),
		EncryptVerifyIncoming:   valuePtr(true),
		EncryptVerifyOutgoing:   valuePtr(true),
		BroadcastTimeoutRaw:     DefaultBroadcastTimeout.String(),
		PrometheusRetentionRaw:  DefaultPrometheusRetention.String(),
		ValidateNodeNames:       valuePtr(false),
		MsgpackUseNewTimeFormat: valuePtr(false),
		HealJitter:              valuePtr(DefaultHealJitter),
	}
}

// DecodeConfig reads one JSON object from r and decodes it. Unknown keys
// and values of the wrong type are errors, worded by mapstructure as in
// Serf 0.11; numbers decode into integer fields (fractions are dropped,
// as in Serf). Only the first JSON value is read: anything after it is
// ignored, as Serf does. A duration that does not parse is an error
// naming its key.
func DecodeConfig(r io.Reader) (*Config, error) {
	var raw any
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, err
	}

	var c Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      &c,
		ErrorUnused: true,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(raw); err != nil {
		return nil, err
	}
	if err := c.CheckDurations(); err != nil {
		return nil, err
	}
	return &c, nil
}

// CheckDurations reports the first duration setting that does not parse,
// in Serf's order, as "<key>: <parse error>"; the error wraps
// time.ParseDuration's. Unset durations are not checked. DecodeConfig
// checks the files' durations with it, and `serf agent` its flags'.
func (c *Config) CheckDurations() error {
	for _, d := range []struct{ key, raw string }{
		{"reconnect_interval", c.ReconnectIntervalRaw},
		{"reconnect_timeout", c.ReconnectTimeoutRaw},
		{"tombstone_timeout", c.TombstoneTimeoutRaw},
		{"heal_interval", c.HealIntervalRaw},
		{"heal_max_interval", c.HealMaxIntervalRaw},
		{"retry_interval", c.RetryIntervalRaw},
		{"broadcast_timeout", c.BroadcastTimeoutRaw},
		{"prometheus_retention_time", c.PrometheusRetentionRaw},
		{"gossip_interval", c.GossipIntervalRaw},
		{"gossip_to_the_dead_time", c.GossipToTheDeadTimeRaw},
		{"probe_interval", c.ProbeIntervalRaw},
		{"probe_timeout", c.ProbeTimeoutRaw},
		{"push_pull_interval", c.PushPullIntervalRaw},
		{"tcp_timeout", c.TCPTimeoutRaw},
	} {
		if d.raw == "" {
			continue
		}
		if _, err := time.ParseDuration(d.raw); err != nil {
			return fmt.Errorf("%s: %w", d.key, err)
		}
	}
	return nil
}

// ReadConfigPaths decodes and merges the configuration files at paths, in
// order, starting from an empty Config (not DefaultConfig). A path may be
// a file or a directory; from a directory only the entries whose names end
// in ".json" are read, without descending into subdirectories, in byte
// order of their names. The errors are Serf's: "Error reading '<path>':
// <err>" and "Error decoding '<path>': <err>".
func ReadConfigPaths(paths []string) (*Config, error) {
	result := new(Config)
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("Error reading '%s': %w", path, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("Error reading '%s': %w", path, err)
		}

		if !fi.IsDir() {
			c, err := DecodeConfig(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("Error decoding '%s': %w", path, err)
			}
			result = MergeConfig(result, c)
			continue
		}

		entries, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("Error reading '%s': %w", path, err)
		}
		slices.SortFunc(entries, func(a, b os.DirEntry) int {
			return strings.Compare(a.Name(), b.Name())
		})
		for _, e := range entries {
			// Entry types come from the directory itself, so a symlink is
			// not a directory here and is read like a file, as in Serf.
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			sub := filepath.Join(path, e.Name())
			c, err := readConfigFile(sub)
			if err != nil {
				return nil, err
			}
			result = MergeConfig(result, c)
		}
	}
	return result, nil
}

// readConfigFile decodes the file at path, with ReadConfigPaths' errors.
func readConfigFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("Error reading '%s': %w", path, err)
	}
	defer f.Close()
	c, err := DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("Error decoding '%s': %w", path, err)
	}
	return c, nil
}

// MergeConfig returns a new configuration: a, overridden by what is set in
// b. Neither a nor b is modified, and the result shares no map, slice or
// pointer with them. A nil argument counts as an empty Config.
//
// What b overrides: strings (durations included) when non-empty, pointers
// when non-nil, Protocol when above 0, MDNS field by field. Tags are
// merged key by key, b winning. EventHandlers, StartJoin and RetryJoin
// are concatenated, a's first; the allowed-CIDR lists are replaced by b's
// when b's is not empty.
func MergeConfig(a, b *Config) *Config {
	result := new(Config)
	overlay(result, a)
	overlay(result, b)
	return result
}

// overlay copies into dst what is set in src, by MergeConfig's rules.
// Values are copied, never shared. This is the one place that knows
// every field: a new field must be added here.
func overlay(dst, src *Config) {
	if src == nil {
		return
	}
	setString(&dst.NodeName, src.NodeName)
	setString(&dst.Role, src.Role)
	setPtr(&dst.DisableCoordinates, src.DisableCoordinates)
	if src.Tags != nil {
		if dst.Tags == nil {
			dst.Tags = make(map[string]string, len(src.Tags))
		}
		maps.Copy(dst.Tags, src.Tags)
	}
	setString(&dst.TagsFile, src.TagsFile)
	setString(&dst.BindAddr, src.BindAddr)
	setString(&dst.AdvertiseAddr, src.AdvertiseAddr)
	setString(&dst.EncryptKey, src.EncryptKey)
	setString(&dst.KeyringFile, src.KeyringFile)
	setString(&dst.LogLevel, src.LogLevel)
	setString(&dst.RPCAddr, src.RPCAddr)
	setString(&dst.RPCAuthKey, src.RPCAuthKey)
	if src.Protocol > 0 {
		dst.Protocol = src.Protocol
	}
	setPtr(&dst.ReplayOnJoin, src.ReplayOnJoin)
	setPtr(&dst.QueryResponseSizeLimit, src.QueryResponseSizeLimit)
	setPtr(&dst.QuerySizeLimit, src.QuerySizeLimit)
	setPtr(&dst.UserEventSizeLimit, src.UserEventSizeLimit)
	dst.StartJoin = concat(dst.StartJoin, src.StartJoin)
	dst.EventHandlers = concat(dst.EventHandlers, src.EventHandlers)
	setString(&dst.Profile, src.Profile)
	setString(&dst.SnapshotPath, src.SnapshotPath)
	setPtr(&dst.LeaveOnTerm, src.LeaveOnTerm)
	setPtr(&dst.SkipLeaveOnInt, src.SkipLeaveOnInt)
	setString(&dst.Discover, src.Discover)
	setString(&dst.MDNS.Interface, src.MDNS.Interface)
	setPtr(&dst.MDNS.DisableIPv4, src.MDNS.DisableIPv4)
	setPtr(&dst.MDNS.DisableIPv6, src.MDNS.DisableIPv6)
	setString(&dst.Interface, src.Interface)
	setString(&dst.ReconnectIntervalRaw, src.ReconnectIntervalRaw)
	setString(&dst.ReconnectTimeoutRaw, src.ReconnectTimeoutRaw)
	setString(&dst.TombstoneTimeoutRaw, src.TombstoneTimeoutRaw)
	setString(&dst.HealIntervalRaw, src.HealIntervalRaw)
	setString(&dst.HealMaxIntervalRaw, src.HealMaxIntervalRaw)
	setPtr(&dst.HealJitter, src.HealJitter)
	setInt(&dst.HealMaxPeers, src.HealMaxPeers)
	setPtr(&dst.DisableNameResolution, src.DisableNameResolution)
	setPtr(&dst.EnableSyslog, src.EnableSyslog)
	setPtr(&dst.LogJSON, src.LogJSON)
	setString(&dst.SyslogFacility, src.SyslogFacility)
	dst.RetryJoin = concat(dst.RetryJoin, src.RetryJoin)
	setPtr(&dst.RetryMaxAttempts, src.RetryMaxAttempts)
	setString(&dst.RetryIntervalRaw, src.RetryIntervalRaw)
	setPtr(&dst.RejoinAfterLeave, src.RejoinAfterLeave)
	setPtr(&dst.EnableCompression, src.EnableCompression)
	setString(&dst.StatsiteAddr, src.StatsiteAddr)
	setString(&dst.StatsdAddr, src.StatsdAddr)
	setString(&dst.BroadcastTimeoutRaw, src.BroadcastTimeoutRaw)
	setString(&dst.PrometheusRetentionRaw, src.PrometheusRetentionRaw)
	setString(&dst.HTTPAddr, src.HTTPAddr)
	setString(&dst.HTTPUnixMode, src.HTTPUnixMode)
	setString(&dst.HTTPTLSCertFile, src.HTTPTLSCertFile)
	setString(&dst.HTTPTLSKeyFile, src.HTTPTLSKeyFile)
	setString(&dst.HTTPAuth, src.HTTPAuth)
	setPtr(&dst.UI, src.UI)
	setString(&dst.GossipIntervalRaw, src.GossipIntervalRaw)
	setInt(&dst.GossipNodes, src.GossipNodes)
	setString(&dst.GossipToTheDeadTimeRaw, src.GossipToTheDeadTimeRaw)
	setString(&dst.ProbeIntervalRaw, src.ProbeIntervalRaw)
	setString(&dst.ProbeTimeoutRaw, src.ProbeTimeoutRaw)
	setInt(&dst.SuspicionMult, src.SuspicionMult)
	setInt(&dst.SuspicionMaxTimeoutMult, src.SuspicionMaxTimeoutMult)
	setInt(&dst.RetransmitMult, src.RetransmitMult)
	setString(&dst.PushPullIntervalRaw, src.PushPullIntervalRaw)
	setString(&dst.TCPTimeoutRaw, src.TCPTimeoutRaw)
	setInt(&dst.UDPBufferSize, src.UDPBufferSize)
	setString(&dst.Label, src.Label)
	setPtr(&dst.EncryptVerifyIncoming, src.EncryptVerifyIncoming)
	setPtr(&dst.EncryptVerifyOutgoing, src.EncryptVerifyOutgoing)
	setList(&dst.GossipAllowedCIDRs, src.GossipAllowedCIDRs)
	setList(&dst.RPCAllowedCIDRs, src.RPCAllowedCIDRs)
	setList(&dst.HTTPAllowedCIDRs, src.HTTPAllowedCIDRs)
	setPtr(&dst.ValidateNodeNames, src.ValidateNodeNames)
	setPtr(&dst.MsgpackUseNewTimeFormat, src.MsgpackUseNewTimeFormat)
}

func setString(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

// setPtr points *dst at a copy of *src when src is set.
func setInt(dst *int, src int) {
	if src != 0 {
		*dst = src
	}
}

func setPtr[T any](dst **T, src *T) {
	if src != nil {
		*dst = valuePtr(*src)
	}
}

// setList replaces *dst with a copy of src when src is not empty.
func setList(dst *[]string, src []string) {
	if len(src) > 0 {
		*dst = slices.Clone(src)
	}
}

// concat returns a new slice holding a then b, or nil when both are empty.
func concat(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// valuePtr returns a pointer to a copy of v.
func valuePtr[T any](v T) *T { return &v }

// ReconnectInterval is reconnect_interval, or 0 when unset: 0 leaves the
// Serf library's default (30s) in place.
func (c *Config) ReconnectInterval() time.Duration {
	return parseDuration(c.ReconnectIntervalRaw, 0)
}

// ReconnectTimeout is reconnect_timeout, or 0 when unset: 0 leaves the
// Serf library's default (24h) in place.
func (c *Config) ReconnectTimeout() time.Duration {
	return parseDuration(c.ReconnectTimeoutRaw, 0)
}

// TombstoneTimeout is tombstone_timeout, or 0 when unset: 0 leaves the
// Serf library's default (24h) in place.
func (c *Config) TombstoneTimeout() time.Duration {
	return parseDuration(c.TombstoneTimeoutRaw, 0)
}

// RetryInterval is retry_interval, or DefaultRetryInterval when unset.
func (c *Config) RetryInterval() time.Duration {
	return parseDuration(c.RetryIntervalRaw, DefaultRetryInterval)
}

// BroadcastTimeout is broadcast_timeout, or DefaultBroadcastTimeout when
// unset.
func (c *Config) BroadcastTimeout() time.Duration {
	return parseDuration(c.BroadcastTimeoutRaw, DefaultBroadcastTimeout)
}

// PrometheusRetention is prometheus_retention_time, or
// DefaultPrometheusRetention when unset; a negative one is 0.
func (c *Config) PrometheusRetention() time.Duration {
	return max(parseDuration(c.PrometheusRetentionRaw, DefaultPrometheusRetention), 0)
}

// parseDuration parses raw, or returns def when raw is empty. DecodeConfig
// and the agent's flags reject bad durations, so raw only fails to parse
// in a Config built by hand; def is returned then too.
func parseDuration(raw string, def time.Duration) time.Duration {
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return def
	}
	return d
}

// AddrParts splits a bind or advertise address into IP and port. The port
// defaults to DefaultBindPort; an IPv6 address needs brackets ("[::1]" or
// "[::1]:7946"); a host name is resolved. The receiver is not used.
func (c *Config) AddrParts(addr string) (ip string, port int, err error) {
	hostPort := addr
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		var ae *net.AddrError
		if !errors.As(err, &ae) || ae.Err != "missing port in address" {
			return "", 0, err
		}
		// Append to the text as written, so "[::1]" keeps its brackets.
		hostPort = fmt.Sprintf("%s:%d", addr, DefaultBindPort)
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return "", 0, err
		}
	}
	tcp, err := net.ResolveTCPAddr("tcp", hostPort)
	if err != nil {
		return "", 0, err
	}
	return tcp.IP.String(), tcp.Port, nil
}

// EncryptBytes decodes EncryptKey (empty gives an empty key).
func (c *Config) EncryptBytes() ([]byte, error) {
	return base64.StdEncoding.DecodeString(c.EncryptKey)
}

// EventScripts returns a copy of the handler specs, unparsed.
func (c *Config) EventScripts() []string {
	return slices.Clone(c.EventHandlers)
}

// NetworkInterface looks up Interface; nil, nil when it is not set.
func (c *Config) NetworkInterface() (*net.Interface, error) {
	if c.Interface == "" {
		return nil, nil
	}
	return net.InterfaceByName(c.Interface)
}

// MDNSNetworkInterface looks up the mDNS interface: MDNS.Interface, else
// Interface; nil, nil when neither is set.
func (c *Config) MDNSNetworkInterface() (*net.Interface, error) {
	switch {
	case c.MDNS.Interface != "":
		return net.InterfaceByName(c.MDNS.Interface)
	case c.Interface != "":
		return net.InterfaceByName(c.Interface)
	}
	return nil, nil
}
