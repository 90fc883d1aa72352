package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/openserf/serf/event"
)

// Lower bounds LoadConfig raises a setting to, with a warning.
const (
	minRetryInterval    = time.Second
	minBroadcastTimeout = time.Second
)

// ErrInvalidLogLevel is what LoadConfig's error matches (errors.Is) when
// log_level is not one of LogLevels. The configuration is returned with
// it: at start-up the error is fatal, while a reload keeps the old level
// and applies the rest, as Serf does.
var ErrInvalidLogLevel = errors.New("invalid log level")

// logLevelError is Serf's message for an unknown log level.
type logLevelError struct{ level string }

func (e logLevelError) Error() string {
	return fmt.Sprintf("Invalid log level: %s. Valid log levels are: %v", strings.ToUpper(e.level), LogLevels)
}

func (e logLevelError) Is(target error) bool { return target == ErrInvalidLogLevel }

// LoadConfig builds the configuration `serf agent` runs with:
// DefaultConfig, then the files and directories at paths merged in order
// (see ReadConfigPaths), then flags, what the command line set (nil for
// nothing). It then fills in and checks the result in Serf's order.
//
// Nothing is printed. The warnings, in the order Serf prints them, are
// returned with the configuration, and with the error when one follows
// them; every message is Serf's text, to be shown as it is (warnings
// first). On an error matching ErrInvalidLogLevel the configuration is
// returned as well, complete but for the level; on any other it is nil.
func LoadConfig(flags *Config, paths []string) (*Config, []string, error) {
	config := DefaultConfig()
	if len(paths) > 0 {
		files, err := ReadConfigPaths(paths)
		if err != nil {
			return nil, nil, err
		}
		config = MergeConfig(config, files)
	}
	config = MergeConfig(config, flags)

	warnings, err := config.finish()
	if err != nil && !errors.Is(err, ErrInvalidLogLevel) {
		return nil, warnings, err
	}
	return config, warnings, err
}

// finish fills in and checks a merged configuration, in Serf's order. The
// log level and user event size checks come last: Serf makes them after
// reading the configuration (when it sets up logging and creates Serf),
// so their messages follow all the warnings.
func (c *Config) finish() ([]string, error) {
	if c.NodeName == "" {
		hostname, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("Error determining hostname: %w", err)
		}
		c.NodeName = hostname
	}

	if _, err := event.ParseSpecs(c.EventHandlers); err != nil {
		return nil, err
	}

	if _, err := c.NetworkInterface(); err != nil {
		return nil, fmt.Errorf("Invalid network interface: %w", err)
	}

	// Serf checks the IP versions only together with an mDNS interface.
	if c.MDNS.Interface != "" {
		if c.Discover == "" {
			return nil, errors.New("mDNS interface specified without enabling mDNS discovery")
		}
		if _, err := net.InterfaceByName(c.MDNS.Interface); err != nil {
			return nil, fmt.Errorf("Invalid mDNS network interface: %w", err)
		}
		if isTrue(c.MDNS.DisableIPv4) && isTrue(c.MDNS.DisableIPv6) {
			return nil, errors.New("Invalid mDNS configuration: both IPv4 and IPv6 are disabled")
		}
	}

	var warnings []string
	if c.Role != "" {
		warnings = append(warnings, "Deprecation warning: 'Role' has been replaced with 'Tags'")
		if c.Tags == nil {
			c.Tags = make(map[string]string)
		}
		c.Tags["role"] = c.Role
	}

	if c.RetryInterval() < minRetryInterval {
		c.RetryIntervalRaw = minRetryInterval.String()
		warnings = append(warnings, fmt.Sprintf("Warning: 'RetryInterval' is too low. Setting to %v", minRetryInterval))
	}
	if c.BroadcastTimeout() < minBroadcastTimeout {
		c.BroadcastTimeoutRaw = minBroadcastTimeout.String()
		warnings = append(warnings, fmt.Sprintf("Warning: 'BroadcastTimeout' is too low. Setting to %v", minBroadcastTimeout))
	}

	if isTrue(c.RejoinAfterLeave) && c.SnapshotPath == "" {
		warnings = append(warnings, "Warning: 'RejoinAfterLeave' enabled without snapshot file")
	}

	if !ValidLevel(c.LogLevel) {
		return warnings, logLevelError{c.LogLevel}
	}

	// Serf only finds this when creating Serf, and words it so.
	if c.UserEventSizeLimit != nil && *c.UserEventSizeLimit > MaxUserEventSizeLimit {
		return warnings, fmt.Errorf(
			"Failed to start the Serf agent: Error creating Serf: user event size limit exceeds limit of %d bytes",
			MaxUserEventSizeLimit)
	}

	// The gossip tuning, label and allow-list keys are ours; their
	// checks come after all of Serf's. An unknown profile is left to New,
	// which reports it as Serf.
	if ml, err := memberlistProfile(c.Profile); err == nil {
		if err := applyTuning(c, ml); err != nil {
			return warnings, err
		}
		if err := applyGossipGuards(c, ml); err != nil {
			return warnings, err
		}
	}
	for _, l := range []struct {
		key   string
		cidrs []string
	}{{"rpc_allowed_cidrs", c.RPCAllowedCIDRs}, {"http_allowed_cidrs", c.HTTPAllowedCIDRs}} {
		if _, err := parseCIDRs(l.key, l.cidrs); err != nil {
			return warnings, err
		}
	}
	if _, err := c.heal(); err != nil {
		return warnings, err
	}
	if isTrue(c.UI) && c.HTTPAddr == "" {
		return warnings, errors.New("ui: the web UI is served on the HTTP listener: set http_addr (-http-addr) too")
	}
	return warnings, nil
}

// isTrue reads a setting that may be unset (nil is false).
func isTrue(b *bool) bool { return b != nil && *b }
