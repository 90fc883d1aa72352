// Package agent is the Serf daemon that `serf agent` runs: it wraps one
// serf.Serf node with everything a long-running process needs.
//
//   - Configuration (config.go, config_load.go): Config is decoded from
//     JSON files and merged with the command-line flags. DefaultConfig,
//     DecodeConfig, ReadConfigPaths and MergeConfig keep Serf's file
//     format, key names and error texts; settings that can be unset are
//     pointers, so a later source can also turn a bool off or set a count
//     to 0. LoadConfig builds the configuration `serf agent` runs with and
//     returns Serf's warnings instead of printing them.
//   - The daemon (daemon.go, serf_config.go): New turns a Config into
//     Serf's and memberlist's configuration (addresses, -iface, key,
//     timing profile) and sets up logging and telemetry; Start starts the
//     node, mDNS discovery (mdns.go) and the RPC server (rpc.go) that
//     `serf members`, `serf join` and the other commands talk to, whose
//     wire types live in package client. The agent also owns the retry
//     join (retry_join.go), the SIGHUP reload (reload.go), a graceful
//     leave given a deadline (GracefulLeave), and under systemd the
//     notification protocol (notify.go: READY, RELOADING, STOPPING,
//     STATUS and watchdog pings, only when NOTIFY_SOCKET is set).
//   - Lifecycle (agent.go): Create, Start, Leave and Shutdown; tags and
//     keyring files (files.go); fanning Serf's events out to the event
//     handlers (events.go). An agent made by Create is the node alone,
//     for programs that serve RPC themselves.
//   - Logging (log.go, syslog.go): a level filter that a reload can change,
//     a gate that holds start-up lines until the banner is out, the ring
//     behind `serf monitor`, syslog; and telemetry sinks (telemetry.go).
//
// Every goroutine the package starts is owned by the value that started
// it and has exited when that value's Shutdown returns: the agent's event
// loop, graceful leave, retry join and systemd notifier, its RPC
// server's and discovery's, and the RPC server's connection, stream and
// timer work.
// Loggers are passed in; the package keeps no global state of its own
// (go-metrics' global sink excepted, which Telemetry installs and New
// starts).
//
// The agent's metrics (agent.ipc.*, and the handlers' agent.invoke.* and
// agent.event_handler.dropped) go to the serf configuration's Metrics
// with its MetricLabels, as the node's own do.
//
// Flag parsing and everything printed on the terminal belong to package
// command; this package returns errors and messages worded as Serf prints
// them, and never exits the process.
package agent
