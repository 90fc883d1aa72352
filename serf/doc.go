// Package serf is the gossip membership library at the heart of the serf
// agent. It layers Serf's protocol on top of hashicorp/memberlist: member
// status driven by Lamport-clocked join and leave intents, tags carried in
// memberlist node metadata, custom user events, queries and the push/pull
// state exchange, all encoded byte for byte as HashiCorp Serf 0.10/0.11
// encodes them so that a node built on this package and a real Serf agent
// form one cluster.
//
// # Lifecycle
//
// Create starts a node from a Config; Join contacts existing members, Leave
// announces a graceful departure and Shutdown stops every goroutine the
// node started and waits for them. Shutdown is idempotent.
//
// # Events
//
// Membership changes, user events and queries are delivered on
// Config.EventCh. The
// library never blocks gossip on that channel: events are handed to a
// bounded queue from inside memberlist's callbacks, and a separate pipeline
// (optional user-event and member-event coalescers, then the channel)
// drains it. When the consumer falls so far behind that the queue is full,
// new events are dropped, counted in the serf.events.dropped metric and
// logged; gossip, failure detection and intent processing go on.
//
// # Concurrency
//
// memberLock guards the member map, the failed and left lists and the
// recent-intent buffer; eventLock guards the user event buffer and its
// minimum time; queryLock the query buffer, its minimum time and the
// responses of our own queries; coordCacheLock the coordinates of peers;
// stateLock the node's SerfState; joinLock serialises Join. Every
// goroutine the node starts goes through goFunc, and Shutdown waits for
// all of them. No lock is held while calling into
// memberlist or doing I/O, and events are handed over with non-blocking
// sends only.
//
// # What it is not
//
// The package has no flags, never exits the process and installs no
// global metrics sink: the agent package owns configuration files, the RPC
// server, handler scripts and telemetry sinks.
package serf
