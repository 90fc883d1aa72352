package agent

import (
	"fmt"
	"io"
	"maps"
	"net"
	"sync"

	"github.com/openserf/serf/serf"
)

// logRingLines is how many recent log lines `serf monitor` is replayed.
const logRingLines = 512

// daemon holds what an agent made by New owns beside its Serf node. The
// fields are set by New and Start and not changed after, except conf and
// configTags, which Reload replaces under reloadLock.
type daemon struct {
	logFilter *LevelFilter  // the terminal's level
	syslog    *SyslogWriter // nil without enable_syslog
	ring      *LogRing      // recent lines, for `serf monitor`
	telemetry *Telemetry

	bind      *net.TCPAddr // the gossip bind address, as the banner shows it
	advertise *net.TCPAddr // nil when none is configured

	rpc       *RPCServer
	http      *HTTPServer // nil without http_addr
	readiness readiness
	discovery *Discovery // nil without discover
	retry     *retryJoin // nil until StartRetryJoin
	notify    *notifier  // nil without NOTIFY_SOCKET

	reloadLock sync.Mutex
	conf       *Config // the configuration in force; nil in an agent made by Create
	// configTags are the tags the configuration gave at start or at the
	// last reload; a reload changes only what the configuration changed.
	configTags map[string]string
}

// New makes the agent `serf agent` runs from a configuration LoadConfig
// returned (it is copied; New does not check it again). It sets up
// logging (the lines at the configured level to terminal, every line to
// the ring that `serf monitor` replays, and to syslog when enabled) and
// telemetry, and works out Serf's configuration; Start then starts the
// node, mDNS discovery and the RPC server.
//
// terminal is where the agent's log lines go; `serf agent` holds them in a
// GatedWriter until its banner is out. Beside the agent, New returns what
// Serf tells the user on the way (the address it took from the
// interface), to be shown before the error when there is one. The errors
// are Serf's messages. A New that fails leaves nothing running.
func New(conf *Config, terminal io.Writer) (*Agent, []string, error) {
	conf = MergeConfig(nil, conf)

	if isTrue(conf.LogJSON) {
		terminal = NewJSONLogWriter(terminal)
	}
	filter := NewLevelFilter(conf.LogLevel, terminal)
	ring := NewLogRing(logRingLines)
	writers := []io.Writer{filter, ring}
	var syslog *SyslogWriter
	if isTrue(conf.EnableSyslog) {
		var err error
		if syslog, err = NewSyslogWriter(conf.SyslogFacility, conf.LogLevel); err != nil {
			return nil, nil, fmt.Errorf("Syslog setup failed: %w", err)
		}
		syslog.json = isTrue(conf.LogJSON)
		writers = append(writers, syslog)
	}

	tel, err := StartTelemetry(TelemetryConfig{
		StatsiteAddr:        conf.StatsiteAddr,
		StatsdAddr:          conf.StatsdAddr,
		Prometheus:          conf.HTTPAddr != "",
		PrometheusRetention: conf.PrometheusRetention(),
	})
	if err != nil {
		return nil, nil, err
	}
	g, notices, err := newGossipSetup(conf)
	if err != nil {
		tel.Stop()
		return nil, notices, err
	}
	a, err := Create(g.serf, Options{
		TagsFile:      conf.TagsFile,
		KeyringFile:   conf.KeyringFile,
		EncryptKey:    conf.EncryptKey,
		EventHandlers: conf.EventScripts(),
	}, io.MultiWriter(writers...))
	if err != nil {
		tel.Stop()
		return nil, notices, fmt.Errorf("Failed to setup the Serf agent: %w", err)
	}
	a.daemon = daemon{
		logFilter:  filter,
		syslog:     syslog,
		ring:       ring,
		telemetry:  tel,
		bind:       g.bind,
		advertise:  g.advertise,
		conf:       conf,
		configTags: maps.Clone(conf.Tags),
	}
	a.readiness.retrying.Store(len(conf.RetryJoin) > 0)
	return a, notices, nil
}

// startDaemon starts the systemd notifier when NOTIFY_SOCKET is set, mDNS
// discovery when configured, and the RPC server, after Serf. Shutdown
// stops what it started.
func (a *Agent) startDaemon() error {
	conf := a.conf
	a.notify = newNotifier(a.logger, a.notifyStatus, func() bool {
		return a.serf.State() != serf.SerfShutdown
	})
	if a.notify != nil {
		a.notify.start()
		a.RegisterEventHandler(a.notify)
	}
	if conf.Discover != "" {
		iface, _ := conf.MDNSNetworkInterface()
		if iface != nil {
			a.logger.Printf("[INFO] agent: Starting mDNS listener on interface %s", iface.Name)
		}
		local := a.serf.LocalMember()
		d, err := NewDiscovery(DiscoveryConfig{
			Logger:      a.logger,
			Node:        conf.NodeName,
			Cluster:     conf.Discover,
			IP:          local.Addr,
			Port:        int(local.Port),
			Interface:   iface,
			DisableIPv4: isTrue(conf.MDNS.DisableIPv4),
			DisableIPv6: isTrue(conf.MDNS.DisableIPv6),
			Replay:      isTrue(conf.ReplayOnJoin),
			Join:        a.Join,
		})
		if err != nil {
			return fmt.Errorf("Error starting mDNS listener: %w", err)
		}
		a.discovery = d
	}

	if err := a.telemetry.Register(newAgentCollector(a)); err != nil {
		return fmt.Errorf("Failed to start metrics: %w", err)
	}

	l, err := net.Listen("tcp", conf.RPCAddr)
	if err == nil {
		l, err = a.allowListed(l, "rpc_allowed_cidrs", conf.RPCAllowedCIDRs, "agent.ipc")
	}
	if err != nil {
		return fmt.Errorf("Error starting RPC listener: %w", err)
	}
	a.rpc = NewRPCServer(a, conf.RPCAuthKey, l, a.ring, a.logger)

	if conf.HTTPAddr != "" {
		hl, err := listenHTTP(conf)
		if err == nil {
			hl, err = a.allowListed(hl, "http_allowed_cidrs", conf.HTTPAllowedCIDRs, "agent.http")
		}
		if err != nil {
			return fmt.Errorf("Error starting HTTP listener: %w", err)
		}
		token := conf.HTTPAuth
		if token == "" {
			token = conf.RPCAuthKey
		}
		if tcp, ok := hl.Addr().(*net.TCPAddr); ok && token == "" && !tcp.IP.IsLoopback() {
			a.logger.Printf("[WARN] agent.http: Listening on %s without a token: anyone who can reach it can use it", tcp)
		}
		a.http = newHTTPServer(a, hl, token, isTrue(conf.UI))
		a.logger.Printf("[INFO] agent.http: Listening on %s", hl.Addr())
	}
	return nil
}

// stopDaemon stops the retry join, mDNS discovery and the RPC server, in
// that order, and waits for their goroutines. Called by Shutdown only.
func (a *Agent) stopDaemon() {
	a.stopRetryRun()
	if a.discovery != nil {
		a.discovery.Shutdown()
	}
	if a.http != nil {
		a.http.Shutdown()
	}
	if a.rpc != nil {
		a.rpc.Shutdown()
	}
}

// HTTPAddr is the address the HTTP listener took, or nil without one.
func (a *Agent) HTTPAddr() net.Addr {
	if a.http == nil {
		return nil
	}
	return a.http.Addr()
}

// BindAddr is the address gossip binds to, with the interface's address
// when -iface picked one; nil in an agent made by Create.
func (a *Agent) BindAddr() *net.TCPAddr { return a.bind }

// AdvertiseAddr is the configured advertise address; nil when there is
// none, and in an agent made by Create.
func (a *Agent) AdvertiseAddr() *net.TCPAddr { return a.advertise }
