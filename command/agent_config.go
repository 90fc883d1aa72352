package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/agent"
)

// Lower bounds `serf agent` applies, with a warning, after merging.
const (
	minRetryInterval    = time.Second
	minBroadcastTimeout = time.Second
)

var (
	// errAgentFlags marks a command-line parse error. The flag package has
	// already written its line to stderr; the caller shows the help text.
	errAgentFlags = errors.New("invalid agent flags")

	// errInvalidLogLevel is returned, with an otherwise complete
	// configuration, when log_level is unknown. At start-up it is fatal;
	// a SIGHUP reload keeps the old level and applies the rest, as Serf
	// does.
	errInvalidLogLevel = errors.New("invalid log level")
)

// readAgentConfig builds the `serf agent` configuration: DefaultConfig,
// then the -config-file and -config-dir paths merged in command-line
// order, then the other flags. It then fills in and checks the result in
// Serf's order, printing Serf's messages: errors with ui.Error, warnings
// with ui.Output (the caller's Ui adds the "==> " prefix).
//
// It returns the configuration and the config paths, for reloading on
// SIGHUP. A returned error has already been shown (on ui, or by the flag
// package on stderr) and must not be printed again; when it wraps
// errAgentFlags the caller prints the help text. On errInvalidLogLevel
// the configuration is returned as well; on every other error it is nil.
func readAgentConfig(args []string, ui cli.Ui) (*agent.Config, []string, error) {
	return readAgentConfigTo(args, ui, os.Stderr)
}

// readAgentConfigTo is readAgentConfig with the flag package's error
// output going to stderr.
func readAgentConfigTo(args []string, ui cli.Ui, stderr io.Writer) (*agent.Config, []string, error) {
	flagConfig, paths, err := parseAgentFlags(args, ui, stderr)
	if err != nil {
		return nil, nil, err
	}

	config := agent.DefaultConfig()
	if len(paths) > 0 {
		fileConfig, err := agent.ReadConfigPaths(paths)
		if err != nil {
			return nil, nil, uiError(ui, err.Error())
		}
		config = agent.MergeConfig(config, fileConfig)
	}
	config = agent.MergeConfig(config, flagConfig)

	if err := finishAgentConfig(config, ui); err != nil {
		if errors.Is(err, errInvalidLogLevel) {
			return config, paths, err
		}
		return nil, nil, err
	}
	return config, paths, nil
}

// agentFlags holds what the `serf agent` flags are parsed into: the
// string and list flags straight into config, the rest beside it until
// parseAgentFlags knows which were given.
type agentFlags struct {
	config                          agent.Config
	paths, tags                     []string
	protocol, retryMax              int
	retryInterval, broadcastTimeout string
	replay, syslog, rejoin          bool
	mdnsNoIPv4, mdnsNoIPv6          bool
	disableCompression              bool
}

// flagSet defines every `serf agent` flag on a new FlagSet named "agent"
// that reports parse errors on stderr and leaves the help text to the
// caller.
func (f *agentFlags) flagSet(stderr io.Writer) *flag.FlagSet {
	c := &f.config
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}

	fs.StringVar(&c.BindAddr, "bind", "", "address to bind the gossip listeners to")
	fs.StringVar(&c.AdvertiseAddr, "advertise", "", "address to advertise to the cluster")
	fs.Var((*agentListFlag)(&f.paths), "config-file", "JSON file to read the configuration from")
	fs.Var((*agentListFlag)(&f.paths), "config-dir", "directory of JSON files to read the configuration from")
	fs.StringVar(&c.EncryptKey, "encrypt", "", "base64 gossip encryption key")
	fs.StringVar(&c.KeyringFile, "keyring-file", "", "path to the keyring file")
	fs.Var((*agentListFlag)(&c.EventHandlers), "event-handler", "script to run on events")
	fs.Var((*agentListFlag)(&c.StartJoin), "join", "address of an agent to join at start")
	fs.BoolVar(&f.replay, "replay", false, "replay past user events when joining")
	fs.StringVar(&c.LogLevel, "log-level", "", "log level")
	fs.StringVar(&c.NodeName, "node", "", "node name")
	fs.IntVar(&f.protocol, "protocol", -1, "protocol version")
	fs.StringVar(&c.Role, "role", "", "role (deprecated: use tags)")
	fs.StringVar(&c.RPCAddr, "rpc-addr", "", "address of the RPC listener")
	fs.StringVar(&c.Profile, "profile", "", "timing profile: lan, wan or local")
	fs.StringVar(&c.SnapshotPath, "snapshot", "", "path to the snapshot file")
	fs.Var((*agentListFlag)(&f.tags), "tag", "tag as key=value")
	fs.StringVar(&c.Discover, "discover", "", "mDNS cluster name")
	fs.StringVar(&c.Interface, "iface", "", "network interface to bind to")
	fs.StringVar(&c.MDNS.Interface, "mdns-iface", "", "network interface for mDNS")
	fs.BoolVar(&f.mdnsNoIPv4, "mdns-disable-ipv4", false, "no IPv4 for mDNS")
	fs.BoolVar(&f.mdnsNoIPv6, "mdns-disable-ipv6", false, "no IPv6 for mDNS")
	fs.StringVar(&c.TagsFile, "tags-file", "", "tag persistence file")
	fs.BoolVar(&f.syslog, "syslog", false, "also log to syslog")
	fs.Var((*agentListFlag)(&c.RetryJoin), "retry-join", "address of an agent to join, retrying")
	fs.IntVar(&f.retryMax, "retry-max", 0, "maximum retry join attempts (0: no limit)")
	fs.StringVar(&f.retryInterval, "retry-interval", "", "interval between retry joins")
	fs.BoolVar(&f.rejoin, "rejoin", false, "rejoin after a previous leave")
	fs.BoolVar(&f.disableCompression, "disable-compression", false, "do not compress gossip messages")
	fs.StringVar(&f.broadcastTimeout, "broadcast-timeout", "", "timeout for leave and tag broadcasts")
	return fs
}

// agentFlagNames lists the `serf agent` flags, for checking the help text.
func agentFlagNames() []string {
	var names []string
	new(agentFlags).flagSet(io.Discard).VisitAll(func(f *flag.Flag) {
		names = append(names, f.Name)
	})
	return names
}

// parseAgentFlags parses the `serf agent` flags into a Config holding only
// what was given on the command line, and returns the config paths in
// command-line order.
func parseAgentFlags(args []string, ui cli.Ui, stderr io.Writer) (*agent.Config, []string, error) {
	f := new(agentFlags)
	fs := f.flagSet(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errAgentFlags, err)
	}

	// Bools and counts override the files only when given, so that
	// -replay=false or -retry-max=0 can undo a file's setting.
	c := &f.config
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "replay":
			c.ReplayOnJoin = &f.replay
		case "mdns-disable-ipv4":
			c.MDNS.DisableIPv4 = &f.mdnsNoIPv4
		case "mdns-disable-ipv6":
			c.MDNS.DisableIPv6 = &f.mdnsNoIPv6
		case "syslog":
			c.EnableSyslog = &f.syslog
		case "retry-max":
			c.RetryMaxAttempts = &f.retryMax
		case "rejoin":
			c.RejoinAfterLeave = &f.rejoin
		case "disable-compression":
			enable := !f.disableCompression
			c.EnableCompression = &enable
		}
	})
	if f.protocol > 0 {
		c.Protocol = f.protocol
	}

	c.Tags = make(map[string]string, len(f.tags))
	for _, t := range f.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, nil, uiError(ui, fmt.Sprintf("Error: Invalid tag: '%s'", t))
		}
		c.Tags[k] = v
	}

	for _, d := range []struct {
		raw string
		dst *string
	}{
		{f.retryInterval, &c.RetryIntervalRaw},
		{f.broadcastTimeout, &c.BroadcastTimeoutRaw},
	} {
		if d.raw == "" {
			continue
		}
		if _, err := time.ParseDuration(d.raw); err != nil {
			return nil, nil, uiError(ui, fmt.Sprintf("Error: %s", err))
		}
		*d.dst = d.raw
	}
	return c, f.paths, nil
}

// finishAgentConfig fills in and checks the merged configuration, in
// Serf's order. The log level and user event size checks come last: Serf
// makes them after reading the configuration (when setting up logging and
// creating Serf), so their messages follow all the warnings.
func finishAgentConfig(c *agent.Config, ui cli.Ui) error {
	if c.NodeName == "" {
		hostname, err := os.Hostname()
		if err != nil {
			return uiError(ui, fmt.Sprintf("Error determining hostname: %s", err))
		}
		c.NodeName = hostname
	}

	if _, err := agent.ParseEventHandlers(c.EventScripts()); err != nil {
		return uiError(ui, err.Error())
	}

	if _, err := c.NetworkInterface(); err != nil {
		return uiError(ui, fmt.Sprintf("Invalid network interface: %s", err))
	}

	// Serf checks the IP versions only together with an mDNS interface.
	if c.MDNS.Interface != "" {
		if c.Discover == "" {
			return uiError(ui, "mDNS interface specified without enabling mDNS discovery")
		}
		if _, err := net.InterfaceByName(c.MDNS.Interface); err != nil {
			return uiError(ui, fmt.Sprintf("Invalid mDNS network interface: %s", err))
		}
		if isTrue(c.MDNS.DisableIPv4) && isTrue(c.MDNS.DisableIPv6) {
			return uiError(ui, "Invalid mDNS configuration: both IPv4 and IPv6 are disabled")
		}
	}

	if c.Role != "" {
		ui.Output("Deprecation warning: 'Role' has been replaced with 'Tags'")
		if c.Tags == nil {
			c.Tags = make(map[string]string)
		}
		c.Tags["role"] = c.Role
	}

	if c.RetryInterval() < minRetryInterval {
		c.RetryIntervalRaw = minRetryInterval.String()
		ui.Output(fmt.Sprintf("Warning: 'RetryInterval' is too low. Setting to %v", minRetryInterval))
	}
	if c.BroadcastTimeout() < minBroadcastTimeout {
		c.BroadcastTimeoutRaw = minBroadcastTimeout.String()
		ui.Output(fmt.Sprintf("Warning: 'BroadcastTimeout' is too low. Setting to %v", minBroadcastTimeout))
	}

	if isTrue(c.RejoinAfterLeave) && c.SnapshotPath == "" {
		ui.Output("Warning: 'RejoinAfterLeave' enabled without snapshot file")
	}

	if !agent.ValidLevel(c.LogLevel) {
		ui.Error(fmt.Sprintf("Invalid log level: %s. Valid log levels are: %v",
			strings.ToUpper(c.LogLevel), agent.LogLevels))
		return errInvalidLogLevel
	}

	// Serf only finds this when creating Serf, and words it so.
	if c.UserEventSizeLimit != nil && *c.UserEventSizeLimit > agent.MaxUserEventSizeLimit {
		return uiError(ui, fmt.Sprintf(
			"Failed to start the Serf agent: Error creating Serf: user event size limit exceeds limit of %d bytes",
			agent.MaxUserEventSizeLimit))
	}
	return nil
}

// uiError shows msg as an error and returns it.
func uiError(ui cli.Ui, msg string) error {
	ui.Error(msg)
	return errors.New(msg)
}

func isTrue(b *bool) bool { return b != nil && *b }

// agentListFlag is a repeatable string flag: each use appends.
type agentListFlag []string

func (f *agentListFlag) String() string { return strings.Join(*f, ",") }

func (f *agentListFlag) Set(v string) error {
	*f = append(*f, v)
	return nil
}
