// Package agent is the Serf daemon that `serf agent` runs: it wraps one
// serf.Serf node with everything a long-running process needs.
//
//   - Configuration (config.go): Config is decoded from JSON files and
//     merged with the command-line flags. DefaultConfig, DecodeConfig,
//     ReadConfigPaths and MergeConfig keep Serf's file format, key names
//     and error texts; settings that can be unset are pointers, so a later
//     source can also turn a bool off or set a count to 0.
//   - Lifecycle (agent.go): Create, Start, Leave and Shutdown; tags and
//     keyring files; fanning Serf's events out to the event handlers.
//   - The RPC server that `serf members`, `serf join` and the other
//     commands talk to; its wire types live in package client.
//   - mDNS discovery (mdns.go), logging (a level filter, a gate that holds
//     start-up lines until the banner is out, the ring behind
//     `serf monitor`, syslog), signals and telemetry sinks.
//
// Every goroutine the package starts is owned by the value that started
// it and has stopped when that value's Shutdown returns. Loggers are
// passed in; the package keeps no global state of its own (go-metrics'
// global sink excepted, which Telemetry installs).
//
// Flag parsing and the messages printed at start-up belong to package
// command; this package returns errors and never exits the process.
package agent
