// Package sim measures how fast serf disseminates a user event and a
// failure through large clusters, in one process, in virtual time.
//
// It has two halves, kept apart so that a reader always knows which
// numbers come from real code:
//
//   - The real-code simulation. Network is an in-memory implementation of
//     memberlist.NodeAwareTransport: packets go through channels with a
//     configurable delay, jitter and loss (Link); streams are net.Pipe
//     pairs, reliable but delayed. Cluster runs N unmodified serf nodes
//     (our serf package on memberlist v0.7.0, default LAN timings) on it.
//     Run inside a testing/synctest bubble (TestSimulation), time is
//     virtual: it advances only when every goroutine is blocked, so the
//     protocol's timers fire exactly on schedule however loaded the
//     machine is, and processing takes no virtual time (a cluster of
//     infinitely fast hosts on the simulated network). Full membership
//     costs memory in N^2, which bounds this half to a few thousand
//     nodes.
//
//   - The model (model.go): a discrete-event simulation of memberlist's
//     protocol rules, not its code: transmit-limited queues, gossip
//     fanout, probe piggybacking, indirect probes, Lifeguard suspicion
//     timeouts and push/pull. It reaches 10,000 nodes in seconds and is
//     validated against the real-code half at the sizes both can run.
//
// Concurrency: a Network and its Transports are safe for concurrent use.
// Every goroutine the package starts (packet delivery, dials, event
// recorders) ends when its transport or cluster shuts down, and
// Cluster.Shutdown waits for them, as a synctest bubble requires. A model
// run is single-threaded.
//
// The entry point is serf-sim (make sim), which runs TestSimulation
// through `go test`, runs the model, and writes docs/benchmarks/sim-*
// and the simulation section of docs/benchmarks.md.
package sim
