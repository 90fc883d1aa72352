package agentcmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/agent"

	"github.com/openserf/serf/command/flags"
)

// errAgentFlags marks a command-line parse error. The flag package has
// already written its line to stderr; the caller shows the help text.
var errAgentFlags = errors.New("invalid agent flags")

// readAgentConfig builds the `serf agent` configuration with
// agent.LoadConfig: DefaultConfig, then the -config-file and -config-dir
// paths merged in command-line order, then the other flags, filled in and
// checked in Serf's order. It prints Serf's messages: warnings with
// ui.Output, then the error with ui.Error (the caller's Ui adds the "==> "
// prefix).
//
// It returns the configuration and the config paths, for reloading on
// SIGHUP. A returned error has already been shown (on ui, or by the flag
// package on stderr) and must not be printed again; when it wraps
// errAgentFlags the caller prints the help text. On an error matching
// agent.ErrInvalidLogLevel the configuration is returned as well; on
// every other error it is nil.
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
	config, warnings, err := agent.LoadConfig(flagConfig, paths)
	for _, w := range warnings {
		ui.Output(w)
	}
	if err != nil {
		ui.Error(err.Error())
		if errors.Is(err, agent.ErrInvalidLogLevel) {
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
	replay, syslog, rejoin, logJSON bool
	ui                              bool
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
	fs.Var((*flags.List)(&f.paths), "config-file", "JSON file to read the configuration from")
	fs.Var((*flags.List)(&f.paths), "config-dir", "directory of JSON files to read the configuration from")
	fs.StringVar(&c.EncryptKey, "encrypt", "", "base64 gossip encryption key")
	fs.StringVar(&c.KeyringFile, "keyring-file", "", "path to the keyring file")
	fs.Var((*flags.List)(&c.EventHandlers), "event-handler", "script to run on events")
	fs.Var((*flags.List)(&c.StartJoin), "join", "address of an agent to join at start")
	fs.BoolVar(&f.replay, "replay", false, "replay past user events when joining")
	fs.StringVar(&c.LogLevel, "log-level", "", "log level")
	fs.StringVar(&c.NodeName, "node", "", "node name")
	fs.IntVar(&f.protocol, "protocol", -1, "protocol version")
	fs.StringVar(&c.Role, "role", "", "role (deprecated: use tags)")
	fs.StringVar(&c.RPCAddr, "rpc-addr", "", "address of the RPC listener")
	fs.StringVar(&c.HTTPAddr, "http-addr", "", "address of the HTTP listener (off by default)")
	fs.BoolVar(&f.ui, "ui", false, "serve the web UI at /ui/ on the HTTP listener")
	fs.StringVar(&c.Label, "label", "", "cluster label: packets and streams with another label are refused")
	fs.StringVar(&c.Profile, "profile", "", "timing profile: lan, wan or local")
	fs.StringVar(&c.SnapshotPath, "snapshot", "", "path to the snapshot file")
	fs.Var((*flags.List)(&f.tags), "tag", "tag as key=value")
	fs.StringVar(&c.Discover, "discover", "", "mDNS cluster name")
	fs.StringVar(&c.Interface, "iface", "", "network interface to bind to")
	fs.StringVar(&c.MDNS.Interface, "mdns-iface", "", "network interface for mDNS")
	fs.BoolVar(&f.mdnsNoIPv4, "mdns-disable-ipv4", false, "no IPv4 for mDNS")
	fs.BoolVar(&f.mdnsNoIPv6, "mdns-disable-ipv6", false, "no IPv6 for mDNS")
	fs.StringVar(&c.TagsFile, "tags-file", "", "tag persistence file")
	fs.BoolVar(&f.syslog, "syslog", false, "also log to syslog")
	fs.BoolVar(&f.logJSON, "log-json", false, "log JSON objects instead of text")
	fs.Var((*flags.List)(&c.RetryJoin), "retry-join", "address of an agent to join, retrying")
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
		case "log-json":
			c.LogJSON = &f.logJSON
		case "ui":
			c.UI = &f.ui
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

	tags, err := flags.ParseTags(f.tags)
	if err != nil {
		return nil, nil, uiError(ui, fmt.Sprintf("Error: %s", err))
	}
	c.Tags = tags

	c.RetryIntervalRaw, c.BroadcastTimeoutRaw = f.retryInterval, f.broadcastTimeout
	if err := c.CheckDurations(); err != nil {
		// The flag's parse error alone, without the key, as Serf prints it.
		return nil, nil, uiError(ui, fmt.Sprintf("Error: %s", errors.Unwrap(err)))
	}
	return c, f.paths, nil
}

// uiError shows msg as an error and returns it.
func uiError(ui cli.Ui, msg string) error {
	ui.Error(msg)
	return errors.New(msg)
}
