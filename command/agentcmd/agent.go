package agentcmd

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/agent"
)

// gracefulTimeout bounds a graceful leave on SIGINT (or SIGTERM with
// leave_on_terminate); past it the agent exits 1, as Serf's does.
const gracefulTimeout = 3 * time.Second

// AgentCommand is `serf agent`: it runs the daemon until a signal, an RPC
// leave, or a lost name conflict ends it. The daemon is package agent's;
// the command reads the flags and files, prints what Serf prints, and
// turns signals into calls on the agent.
type AgentCommand struct {
	UI cli.Ui
	// ShutdownCh, when set, acts as an interrupt (tests use it).
	ShutdownCh <-chan struct{}
	// Signals, when set, replaces the process's signals (tests use it).
	Signals <-chan os.Signal

	args []string // read again on SIGHUP
}

func (c *AgentCommand) Synopsis() string { return "Runs a Serf agent" }

func (c *AgentCommand) Help() string {
	return strings.TrimSpace(agentHelp)
}

// Run starts the agent and blocks until it ends; the exit code follows
// Serf: 0 after a graceful leave or an RPC leave, 1 otherwise.
func (c *AgentCommand) Run(args []string) int {
	plain := c.UI
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

	// Log lines wait until the banner is out. Text lines are indented
	// under it, as Serf's; JSON lines are not, so each line is one object
	// from its first byte.
	logUI := c.UI
	if conf.LogJSON != nil && *conf.LogJSON {
		logUI = plain
	}
	gate := &agent.GatedWriter{Writer: &cli.UiWriter{Ui: logUI}}
	a, notices, err := agent.New(conf, gate)
	for _, n := range notices {
		c.UI.Output(n)
	}
	if err != nil {
		c.UI.Error(err.Error())
		return 1
	}
	defer a.Shutdown()

	c.UI.Output("Starting Serf agent...")
	if err := a.Start(); err != nil {
		c.UI.Error(err.Error())
		return 1
	}
	c.UI.Output("Starting Serf agent RPC...")
	c.banner(conf, a)

	if len(conf.StartJoin) > 0 {
		replay := *conf.ReplayOnJoin
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

	// Under systemd (Type=notify) the unit is active from here: the RPC
	// server answers and the start join is done. The retry join, as in
	// Serf, goes on in the background.
	a.Ready()
	a.StartRetryJoin()
	return c.handleSignals(conf, a)
}

// banner prints what Serf prints once the agent runs. conf's pointers
// are all set, as LoadConfig's always are.
func (c *AgentCommand) banner(conf *agent.Config, a *agent.Agent) {
	c.UI.Output("Serf agent running!")
	c.UI.Info(fmt.Sprintf("                  Node name: '%s'", conf.NodeName))
	c.UI.Info(fmt.Sprintf("                  Bind addr: '%s'", a.BindAddr()))
	if adv := a.AdvertiseAddr(); adv != nil {
		c.UI.Info(fmt.Sprintf("Advertise addr: '%s'", adv))
	}
	c.UI.Info(fmt.Sprintf("                   RPC addr: '%s'", conf.RPCAddr))
	if addr := a.HTTPAddr(); addr != nil {
		// Ours, only when asked for: Serf has no HTTP listener.
		c.UI.Info(fmt.Sprintf("                  HTTP addr: '%s'", addr))
		if url := a.UIURL(); url != "" {
			c.UI.Info(fmt.Sprintf("                     Web UI: %s", url))
		}
	}
	c.UI.Info(fmt.Sprintf("                  Encrypted: %#v", a.EncryptionEnabled()))
	// Ours, only when asked for: Serf has no label and always verifies.
	if conf.Label != "" {
		c.UI.Info(fmt.Sprintf("              Cluster label: '%s'", conf.Label))
	}
	if in, out := *conf.EncryptVerifyIncoming, *conf.EncryptVerifyOutgoing; a.EncryptionEnabled() && (!in || !out) {
		c.UI.Info(fmt.Sprintf("        Encryption verified: incoming %v, outgoing %v", in, out))
	}
	c.UI.Info(fmt.Sprintf("                   Snapshot: %v", conf.SnapshotPath != ""))
	c.UI.Info(fmt.Sprintf("                    Profile: %s", conf.Profile))
	c.UI.Info(fmt.Sprintf("Message Compression Enabled: %v", *conf.EnableCompression))
	if conf.Discover != "" {
		c.UI.Info(fmt.Sprintf("               mDNS cluster: %s", conf.Discover))
	}
}

// handleSignals waits for the end: a signal, an exhausted retry join, or
// the agent stopping by itself (RPC leave, lost name conflict). conf is
// the configuration in force, for which signals leave gracefully.
func (c *AgentCommand) handleSignals(conf *agent.Config, a *agent.Agent) int {
	retryFailed := a.RetryJoinFailedCh()
	for {
		var sig os.Signal
		select {
		case sig = <-c.Signals:
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
		graceful := (sig == os.Interrupt && !*conf.SkipLeaveOnInt) ||
			(sig == syscall.SIGTERM && *conf.LeaveOnTerm)
		if !graceful {
			return 1
		}

		c.UI.Output("Gracefully shutting down agent...")
		left := a.GracefulLeave()
		timer := time.NewTimer(gracefulTimeout)
		defer timer.Stop()
		select {
		case <-c.Signals:
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

// reload reads the configuration again on SIGHUP and hands it to the
// agent, which applies the log level, the retry join, the handler scripts
// and the tags.
// It returns the configuration now in force.
func (c *AgentCommand) reload(old *agent.Config, a *agent.Agent) *agent.Config {
	c.UI.Output("Reloading configuration...")
	conf, _, err := readAgentConfig(c.args, c.UI)
	if err != nil && !errors.Is(err, agent.ErrInvalidLogLevel) {
		c.UI.Error("Failed to reload configs")
		return old
	}
	if err := a.Reload(conf); err != nil {
		c.UI.Error(err.Error())
	}
	return conf
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
  -log-json                Log one JSON object per line instead of text
                           (to the terminal and syslog; not to monitor).
  -node=name               Node name, unique in the cluster. Default: the
                           host name.
  -label=name              Cluster label, carried by every gossip packet and
                           stream: members with another label, or none (as
                           Serf's), are refused. Off by default.
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
  -http-addr=127.0.0.1:7374
                           Also serve health checks and Prometheus metrics
                           over HTTP there (or unix:///path). Off by default.
  -ui                      Also serve the web UI at /ui/ on the HTTP
                           listener; needs -http-addr.
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
