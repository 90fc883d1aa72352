// Package bench measures our serf agent side by side with the real Serf
// (v0.11.0 by default) and reports the figures, their ratio and whether
// our targets are met. The program lives in cmd/serf-bench ("make bench").
//
// # What it does
//
// For each cluster size N and repetition, it starts a cluster of N agents
// of one binary, measures it, kills it, lets the machine settle, then does
// the same with the other binary: only one cluster runs at a time, so the
// two never compete for the CPU. Every agent gets its own loopback
// address (127.0.x.y, a fresh x per cluster) with the default ports 7946
// (gossip) and 7373 (RPC), its own temporary directory, the lan profile
// and the same flags and event-handler script for both binaries.
//
// The membership of every agent is watched through one RPC event stream
// per agent (member-join, member-leave, member-failed), opened before the
// action being timed; "members" is only called for final checks. User
// events are timed by the agents' own handler script, which appends the
// payload and a wall-clock timestamp to a file per agent. Memory and CPU
// come from /proc/PID/status (RssAnon) and /proc/PID/stat (utime+stime).
//
// # Processes
//
// Each agent runs in its own process group with a parent-death signal;
// a Cluster kills every group it started on Close, and Registry.KillAll
// does the same for every live cluster on a signal or a panic, so no
// agent outlives the program.
//
// The package is Linux-only in practice (/proc, process groups, the
// routable 127.0.0.0/8) and not meant as a library.
package bench
