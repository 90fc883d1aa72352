package command

import (
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/agent"
	"github.com/openserf/serf/serf"
)

// gracefulTimeout bounds a graceful leave on SIGINT (or SIGTERM with
// leave_on_terminate); past it the agent exits 1, as Serf's does.
const gracefulTimeout = 3 * time.Second

// AgentCommand is `serf agent`: it runs the daemon until a signal, an RPC
// leave, or a lost name conflict ends it.
type AgentCommand struct {
	UI cli.Ui
	// ShutdownCh, when set, acts as an interrupt (tests use it).
	ShutdownCh <-chan struct{}
	// Signals, when set, replaces the process's signals (tests use it).
	Signals <-chan os.Signal

	args      []string
	logFilter *agent.LevelFilter
	syslog    *agent.SyslogWriter
	logger    *log.Logger
	// configTags are the tags the configuration gave at start or at the
	// last reload; a reload changes only what the configuration changed.
	configTags map[string]string
}

func (c *AgentCommand) Synopsis() string { return "Runs a Serf agent" }

func (c *AgentCommand) Help() string {
	return strings.TrimSpace(agentHelp)
}

// Run starts the agent and blocks until it ends; the exit code follows
// Serf: 0 after a graceful leave or an RPC leave, 1 otherwise.
func (c *AgentCommand) Run(args []string) int {
	c.UI = &cli.PrefixedUi{OutputPrefix: "==> ", InfoPrefix: "    ", ErrorPrefix: "==> ", Ui: c.UI}
	c.args = args

	// Catch signals from the start (Serf only does once the agent runs),
	// so a SIGHUP or SIGINT during start-up is handled, not fatal.
	if c.Signals == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(ch)
		c.Signals = ch
	}

	conf, _, err := readAgentConfig(args, c.UI)
	if err != nil {
		if errors.Is(err, errAgentFlags) {
			c.UI.Output(c.Help())
		}
		return 1
	}

	gate, ring, logOutput := c.setupLoggers(conf)
	if ring == nil {
		return 1
	}

	tel, err := agent.StartTelemetry(conf.StatsiteAddr, conf.StatsdAddr)
	if err != nil {
		c.UI.Error(err.Error())
		return 1
	}
	defer tel.Stop()

	a := c.setupAgent(conf, logOutput)
	if a == nil {
		return 1
	}
	defer a.Shutdown()

	rpc, mdns := c.startAgent(conf, a, ring)
	if rpc == nil {
		return 1
	}
	defer rpc.Shutdown()
	if mdns != nil {
		defer mdns.Shutdown()
	}

	if len(conf.StartJoin) > 0 {
		replay := isTrue(conf.ReplayOnJoin)
		c.UI.Output(fmt.Sprintf("Joining cluster...(replay: %v)", replay))
		n, err := a.Join(conf.StartJoin, replay)
		if err != nil {
			c.UI.Error(err.Error())
			return 1
		}
		c.UI.Info(fmt.Sprintf("Join completed. Synced with %d initial agents", n))
	}

	c.UI.Info("")
	c.UI.Output("Log data will now stream in as it occurs:\n")
	gate.Flush()

	retry := newRetryJoin(c.logger, conf, a)
	defer retry.stop()

	return c.handleSignals(conf, a, retry.failed)
}

// setupLoggers builds the log pipeline: the level filter and start-up gate
// to the terminal, the ring of recent lines for `serf monitor`, and syslog.
func (c *AgentCommand) setupLoggers(conf *agent.Config) (*agent.GatedWriter, *agent.LogRing, io.Writer) {
	gate := &agent.GatedWriter{Writer: &cli.UiWriter{Ui: c.UI}}
	c.logFilter = agent.NewLevelFilter(conf.LogLevel, gate)

	writers := []io.Writer{c.logFilter}
	ring := agent.NewLogRing(512)
	writers = append(writers, ring)
	if isTrue(conf.EnableSyslog) {
		sl, err := agent.NewSyslogWriter(conf.SyslogFacility, conf.LogLevel)
		if err != nil {
			c.UI.Error(fmt.Sprintf("Syslog setup failed: %v", err))
			return nil, nil, nil
		}
		c.syslog = sl
		writers = append(writers, sl)
	}
	out := io.MultiWriter(writers...)
	c.logger = log.New(out, "", log.LstdFlags)
	return gate, ring, out
}

// setupAgent turns the configuration into a serf configuration and
// creates the agent, with Serf's messages for each failure.
func (c *AgentCommand) setupAgent(conf *agent.Config, logOutput io.Writer) *agent.Agent {
	bindIP, bindPort, err := conf.AddrParts(conf.BindAddr)
	if err != nil {
		c.UI.Error(fmt.Sprintf("Invalid bind address: %s", err))
		return nil
	}
	if iface, _ := conf.NetworkInterface(); iface != nil {
		if bindIP, err = c.interfaceAddr(conf, iface, bindIP); err != nil {
			return nil
		}
		conf.BindAddr = (&net.TCPAddr{IP: net.ParseIP(bindIP), Port: bindPort}).String()
	}

	var advertiseIP string
	var advertisePort int
	if conf.AdvertiseAddr != "" {
		if advertiseIP, advertisePort, err = conf.AddrParts(conf.AdvertiseAddr); err != nil {
			c.UI.Error(fmt.Sprintf("Invalid advertise address: %s", err))
			return nil
		}
	}
	key, err := conf.EncryptBytes()
	if err != nil {
		c.UI.Error(fmt.Sprintf("Invalid encryption key: %s", err))
		return nil
	}

	sc := serf.DefaultConfig()
	switch conf.Profile {
	case "lan":
		sc.MemberlistConfig = memberlist.DefaultLANConfig()
	case "wan":
		sc.MemberlistConfig = memberlist.DefaultWANConfig()
	case "local":
		sc.MemberlistConfig = memberlist.DefaultLocalConfig()
	default:
		c.UI.Error(fmt.Sprintf("Unknown profile: %s", conf.Profile))
		return nil
	}
	ml := sc.MemberlistConfig
	ml.BindAddr, ml.BindPort = bindIP, bindPort
	ml.AdvertiseAddr, ml.AdvertisePort = advertiseIP, advertisePort
	ml.SecretKey = key
	ml.EnableCompression = isTrue(conf.EnableCompression)

	sc.NodeName = conf.NodeName
	sc.Tags = maps.Clone(conf.Tags)
	sc.SnapshotPath = conf.SnapshotPath
	sc.ProtocolVersion = uint8(conf.Protocol)
	sc.CoalescePeriod, sc.QuiescentPeriod = 3*time.Second, time.Second
	sc.UserCoalescePeriod, sc.UserQuiescentPeriod = 3*time.Second, time.Second
	if conf.QueryResponseSizeLimit != nil {
		sc.QueryResponseSizeLimit = *conf.QueryResponseSizeLimit
	}
	if conf.QuerySizeLimit != nil {
		sc.QuerySizeLimit = *conf.QuerySizeLimit
	}
	if conf.UserEventSizeLimit != nil {
		sc.UserEventSizeLimit = *conf.UserEventSizeLimit
	}
	if d := conf.ReconnectInterval(); d > 0 {
		sc.ReconnectInterval = d
	}
	if d := conf.ReconnectTimeout(); d > 0 {
		sc.ReconnectTimeout = d
	}
	if d := conf.TombstoneTimeout(); d > 0 {
		sc.TombstoneTimeout = d
	}
	sc.EnableNameConflictResolution = !isTrue(conf.DisableNameResolution)
	sc.RejoinAfterLeave = isTrue(conf.RejoinAfterLeave)
	sc.BroadcastTimeout = conf.BroadcastTimeout()
	c.configTags = maps.Clone(conf.Tags)

	c.UI.Output("Starting Serf agent...")
	a, err := agent.Create(sc, agent.Options{
		TagsFile:      conf.TagsFile,
		KeyringFile:   conf.KeyringFile,
		EncryptKey:    conf.EncryptKey,
		EventHandlers: conf.EventScripts(),
	}, logOutput)
	if err != nil {
		c.UI.Error(fmt.Sprintf("Failed to setup the Serf agent: %v", err))
		return nil
	}
	return a
}

// interfaceAddr checks -iface against the bind address, picking the
// interface's first usable address when binding to 0.0.0.0.
func (c *AgentCommand) interfaceAddr(conf *agent.Config, iface *net.Interface, bindIP string) (string, error) {
	fail := func(msg string) (string, error) {
		c.UI.Error(msg)
		return "", errors.New(msg)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return fail(fmt.Sprintf("Failed to get interface addresses: %s", err))
	}
	if len(addrs) == 0 {
		return fail(fmt.Sprintf("Interface '%s' has no addresses", conf.Interface))
	}
	if bindIP != "0.0.0.0" {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.String() == bindIP {
				return bindIP, nil
			}
		}
		return fail(fmt.Sprintf("Interface '%s' has no '%s' address", conf.Interface, bindIP))
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() {
			continue
		}
		c.UI.Output(fmt.Sprintf("Using interface '%s' address '%s'", conf.Interface, n.IP))
		return n.IP.String(), nil
	}
	return fail(fmt.Sprintf("Failed to find usable address for interface '%s'", conf.Interface))
}

// startAgent starts Serf, mDNS and the RPC server and prints the banner.
func (c *AgentCommand) startAgent(conf *agent.Config, a *agent.Agent, ring *agent.LogRing) (*agent.RPCServer, *agent.Discovery) {
	if err := a.Start(); err != nil {
		c.UI.Error(fmt.Sprintf("Failed to start the Serf agent: %v", err))
		return nil, nil
	}
	bindIP, bindPort, err := conf.AddrParts(conf.BindAddr)
	if err != nil {
		c.UI.Error(fmt.Sprintf("invalid bind address: %v", err))
		return nil, nil
	}
	bindAddr := &net.TCPAddr{IP: net.ParseIP(bindIP), Port: bindPort}

	var disc *agent.Discovery
	if conf.Discover != "" {
		local := a.Serf().LocalMember()
		iface, _ := conf.MDNSNetworkInterface()
		if iface != nil {
			c.logger.Printf("[INFO] agent: Starting mDNS listener on interface %s", iface.Name)
		}
		cfg := agent.MDNSConfig{Interface: iface, DisableIPv4: isTrue(conf.MDNS.DisableIPv4), DisableIPv6: isTrue(conf.MDNS.DisableIPv6)}
		disc, err = agent.NewDiscovery(c.logger, conf.NodeName, conf.Discover, local.Addr, int(local.Port), cfg,
			isTrue(conf.ReplayOnJoin), a.Join)
		if err != nil {
			c.UI.Error(fmt.Sprintf("Error starting mDNS listener: %s", err))
			return nil, nil
		}
	}

	listener, err := net.Listen("tcp", conf.RPCAddr)
	if err != nil {
		if disc != nil {
			disc.Shutdown()
		}
		c.UI.Error(fmt.Sprintf("Error starting RPC listener: %s", err))
		return nil, nil
	}
	c.UI.Output("Starting Serf agent RPC...")
	rpc := agent.NewRPCServer(a, conf.RPCAuthKey, listener, ring, c.logger)

	c.UI.Output("Serf agent running!")
	c.UI.Info(fmt.Sprintf("                  Node name: '%s'", conf.NodeName))
	c.UI.Info(fmt.Sprintf("                  Bind addr: '%s'", bindAddr))
	if conf.AdvertiseAddr != "" {
		ip, port, _ := conf.AddrParts(conf.AdvertiseAddr)
		c.UI.Info(fmt.Sprintf("Advertise addr: '%s'", &net.TCPAddr{IP: net.ParseIP(ip), Port: port}))
	}
	c.UI.Info(fmt.Sprintf("                   RPC addr: '%s'", conf.RPCAddr))
	c.UI.Info(fmt.Sprintf("                  Encrypted: %#v", a.Serf().EncryptionEnabled()))
	c.UI.Info(fmt.Sprintf("                   Snapshot: %v", conf.SnapshotPath != ""))
	c.UI.Info(fmt.Sprintf("                    Profile: %s", conf.Profile))
	c.UI.Info(fmt.Sprintf("Message Compression Enabled: %v", isTrue(conf.EnableCompression)))
	if conf.Discover != "" {
		c.UI.Info(fmt.Sprintf("               mDNS cluster: %s", conf.Discover))
	}
	return rpc, disc
}

// retryJoin joins retry_join addresses in the background until one works,
// re-resolving names on every attempt.
type retryJoin struct {
	failed chan struct{} // closed when retry_max_attempts is used up
	stopCh chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newRetryJoin(logger *log.Logger, conf *agent.Config, a *agent.Agent) *retryJoin {
	r := &retryJoin{failed: make(chan struct{}), stopCh: make(chan struct{})}
	if len(conf.RetryJoin) == 0 {
		return r
	}
	addrs := append([]string(nil), conf.RetryJoin...)
	replay := isTrue(conf.ReplayOnJoin)
	maxAttempts := 0
	if conf.RetryMaxAttempts != nil {
		maxAttempts = *conf.RetryMaxAttempts
	}
	interval := conf.RetryInterval()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for attempt := 1; ; attempt++ {
			logger.Printf("[INFO] agent: Joining cluster...(replay: %v)", replay)
			n, err := a.Join(addrs, replay)
			if err == nil {
				logger.Printf("[INFO] agent: Join completed. Synced with %d initial agents", n)
				return
			}
			if maxAttempts > 0 && attempt > maxAttempts {
				logger.Printf("[ERR] agent: maximum retry join attempts made, exiting")
				close(r.failed)
				return
			}
			logger.Printf("[WARN] agent: Join failed: %v, retrying in %v", err, interval)
			t := time.NewTimer(interval)
			select {
			case <-t.C:
			case <-r.stopCh:
				t.Stop()
				return
			}
		}
	}()
	return r
}

func (r *retryJoin) stop() {
	r.once.Do(func() { close(r.stopCh) })
	r.wg.Wait()
}

// handleSignals waits for the end: a signal, an exhausted retry join, or
// the agent shutting down by itself (RPC leave, lost name conflict).
func (c *AgentCommand) handleSignals(conf *agent.Config, a *agent.Agent, retryFailed <-chan struct{}) int {
	signals := c.Signals
	for {
		var sig os.Signal
		select {
		case sig = <-signals:
		case <-c.ShutdownCh:
			sig = os.Interrupt
		case <-retryFailed:
			return 1
		case <-a.ShutdownCh():
			return 0
		}
		c.UI.Output(fmt.Sprintf("Caught signal: %v", sig))

		if sig == syscall.SIGHUP {
			conf = c.reload(conf, a)
			continue
		}
		graceful := (sig == os.Interrupt && !isTrue(conf.SkipLeaveOnInt)) ||
			(sig == syscall.SIGTERM && isTrue(conf.LeaveOnTerm))
		if !graceful {
			return 1
		}

		c.UI.Output("Gracefully shutting down agent...")
		left := make(chan error, 1)
		go func() { left <- a.Leave() }()
		timer := time.NewTimer(gracefulTimeout)
		defer timer.Stop()
		select {
		case <-signals:
			return 1
		case <-c.ShutdownCh:
			return 1
		case <-timer.C:
			return 1
		case err := <-left:
			if err != nil {
				c.UI.Error(fmt.Sprintf("Error: %s", err))
				return 1
			}
			return 0
		}
	}
}

// reload re-reads the configuration on SIGHUP and applies the log level,
// the handler scripts and the tags. Unlike Serf, tags are only changed
// where the configuration changed them, so tags from the tags file or
// from `serf tags` survive a reload; every change is logged.
func (c *AgentCommand) reload(old *agent.Config, a *agent.Agent) *agent.Config {
	c.UI.Output("Reloading configuration...")
	conf, _, err := readAgentConfig(c.args, c.UI)
	if err != nil && !errors.Is(err, errInvalidLogLevel) {
		c.UI.Error("Failed to reload configs")
		return old
	}
	if errors.Is(err, errInvalidLogLevel) {
		conf.LogLevel = old.LogLevel
	} else if !strings.EqualFold(conf.LogLevel, old.LogLevel) {
		c.logFilter.SetLevel(conf.LogLevel)
		if c.syslog != nil {
			c.syslog.SetLevel(conf.LogLevel)
		}
		c.logger.Printf("[INFO] agent: Reload changed the log level from %s to %s",
			strings.ToUpper(old.LogLevel), strings.ToUpper(conf.LogLevel))
	}

	if err := a.UpdateEventHandlers(conf.EventScripts()); err != nil {
		c.UI.Error(err.Error())
	} else if strings.Join(conf.EventScripts(), "\n") != strings.Join(old.EventScripts(), "\n") {
		c.logger.Printf("[INFO] agent: Reload changed the event handlers to %q", conf.EventScripts())
	}

	if conf.TagsFile != "" && len(conf.Tags) > 0 {
		c.UI.Error("Failed to update tags: Tags config not allowed while using tag files")
		return conf
	}
	current := a.Serf().LocalMember().Tags
	next, changes := reloadTags(current, c.configTags, conf.Tags)
	if len(changes) > 0 {
		if err := a.SetTags(next); err != nil {
			c.UI.Error(fmt.Sprintf("Failed to update tags: %v", err))
			return conf
		}
		c.logger.Printf("[INFO] agent: Reload changed tags: %s", strings.Join(changes, ", "))
	}
	c.configTags = maps.Clone(conf.Tags)
	return conf
}

// reloadTags applies to current the difference between the tags the
// configuration gave before (was) and gives now (now): keys it dropped are
// deleted, keys it added or changed are set, the rest is kept. It returns
// the new tags and a sorted description of each change.
func reloadTags(current, was, now map[string]string) (map[string]string, []string) {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]string{}
	}
	var changes []string
	for k := range was {
		if _, kept := now[k]; kept {
			continue
		}
		if _, ok := next[k]; ok {
			delete(next, k)
			changes = append(changes, "-"+k)
		}
	}
	for k, v := range now {
		if old, ok := was[k]; ok && old == v {
			continue // the configuration did not change this key
		}
		if cur, ok := next[k]; ok && cur == v {
			continue
		}
		next[k] = v
		changes = append(changes, k+"="+v)
	}
	sort.Strings(changes)
	return next, changes
}

const agentHelp = `
Usage: serf agent [options]

  Runs a Serf agent: one node of a cluster, until it is interrupted. The
  same binary is the client for a running agent (serf members, ...).

Options:

  -bind=0.0.0.0            IP[:port] to gossip on; port 7946 by default.
                           IPv6 as [::1] or [::1]:7946.
  -iface=eth1              Interface to take the bind address from (and to
                           use for mDNS). With -bind, the interface must
                           have that address.
  -advertise=IP[:port]     Address other members reach this node at, when
                           it is not the bind address (port 7946 if left out).
  -config-file=foo.json    JSON configuration file; may be repeated.
  -config-dir=dir          Directory whose *.json files are read in name
                           order; may be repeated. Files and directories are
                           merged in command-line order, then the flags.
  -discover=cluster        Find and join the members of this cluster name
                           with mDNS (multicast DNS) on the local network.
  -encrypt=key             Base64 gossip encryption key (16, 24 or 32 bytes;
                           serf keygen makes one).
  -keyring-file=path       Keyring file: the keys, primary first, kept up to
                           date as keys are installed and removed.
  -event-handler=spec      Handler script for events; may be repeated. See
                           "Event handlers" below.
  -join=addr               Member to join at start; may be repeated. Failing
                           to join any of them stops the agent.
  -log-level=info          trace, debug, info, warn or err.
  -node=name               Node name, unique in the cluster. Default: the
                           host name.
  -profile=lan             Timing profile: lan, wan or local.
  -protocol=5              Serf protocol to speak (2 to 5), for upgrades.
  -rejoin                  With -snapshot: rejoin even after a graceful leave.
  -retry-join=addr         Member to join in the background, trying again
                           until it works; may be repeated.
  -retry-interval=30s      Time between -retry-join attempts.
  -retry-max=0             Attempts before the agent gives up and exits;
                           0 is no limit.
  -role=name               Deprecated: the same as -tag role=name.
  -rpc-addr=127.0.0.1:7373 Where the RPC server listens for the CLI.
  -snapshot=path           File that records members and clocks, so that a
                           restarted agent rejoins and replays no old events.
  -tag key=value           A tag of this node; may be repeated.
  -tags-file=path          File that keeps tags set at run time across
                           restarts; cannot be used with -tag.
  -syslog                  Also log to syslog.
  -broadcast-timeout=5s    How long a leave or force-leave waits for its
                           message to go out.
  -disable-compression     Do not compress gossip messages.
  -mdns-iface=eth1         Interface for mDNS only.
  -mdns-disable-ipv4       No IPv4 for mDNS.
  -mdns-disable-ipv6       No IPv6 for mDNS.

Event handlers:

  A handler is "[filter=]script". The script runs with /bin/sh -c; the
  event is described in SERF_* environment variables and on stdin. The
  filter is a comma-separated list of member-join, member-leave,
  member-failed, member-update, member-reap, user, query, user:NAME,
  query:NAME or * (everything, also the default). For example:

    -event-handler member-join=/etc/serf/join.sh
    -event-handler user:deploy=/etc/serf/deploy.sh

  Handlers run apart from the gossip: a slow one delays only its own
  later events.
`
