package sim

// methodText closes the simulation section of docs/benchmarks.md: how the
// figures above were made and how far to trust them.
const methodText = `### Method

**Real code.** Every "real" row runs N unmodified nodes of our ` + "`serf`" + ` package on
hashicorp/memberlist v0.7.0 with the library defaults (memberlist's LAN profile: GossipInterval
200 ms, GossipNodes 3, RetransmitMult 4, ProbeInterval 1 s, ProbeTimeout 500 ms, SuspicionMult 4,
SuspicionMaxTimeoutMult 6, compression on; Vivaldi coordinates on). Only the transport is ours:
` + "`internal/tools/sim.Network`" + ` implements memberlist.NodeAwareTransport in memory. Packets travel
through channels, each delayed by the scenario's delay plus uniform jitter and dropped with its
loss probability; streams (push/pull, TCP fallback pings) are net.Pipe pairs that lose nothing,
whose set-up costs a round trip and each write one delay. The whole cluster runs inside a
` + "`testing/synctest`" + ` bubble (the test ` + "`TestSimulation`" + `, which ` + "`serf-sim`" + ` runs
through ` + "`go test`" + `): time is virtual and moves only when every goroutine is blocked, so
each timer of each node fires exactly on schedule however loaded the 2 cores are, and processing
takes no time at all. The figures are therefore those of the protocol on an ideal host; CPU
contention, GC pauses and kernel queues of real hosts would only add to them. Nodes start at
random moments over one second of virtual time (see below), then each joins node 0; the run waits
until every node knows all N members and then until the network has carried nothing but bare
pings and acks for two seconds (every broadcast queue empty) before each trial. A user event is
sent by a random node; its time is the first delivery of that event on each node's EventCh. A
failure is a random node going silent, not leaving: its packets vanish in both directions and
dials to it wait out their timeout, like a host that lost power; its time is the
member-failed event on each other live node. The scenario's delay and loss apply during a trial;
the network is the loss-free ` + "`lan`" + ` one while the cluster settles between trials.

**The model** (` + "`internal/tools/sim/model.go`" + `) is a discrete-event simulation of memberlist's
rules, not of its code, used for 10,000 nodes because real nodes cannot get there (below). It
keeps, per node: a transmit-limited queue (limit RetransmitMult x ceil(log10(N+1)); fewest
transmits first, then largest, then newest; memberlist's broadcasts before serf's; packets
filled up to UDPBufferSize; a newer suspect or dead message about a node replaces the queued
one), gossip every GossipInterval at the node's own phase to GossipNodes distinct random nodes
(the dead one included until GossipToTheDeadTime), piggybacking on every ping and ack, one probe
per ProbeInterval (round robin, so each node reaches the dead node at a uniformly random tick of
its cycle), the failed probe's indirect pings and nacks (with their piggybacks), suspicion after
the probe interval, Lifeguard's suspicion timeout (from SuspicionMult x log10(N) x ProbeInterval
down from 6 times that, shortened by each independent confirmation, k = SuspicionMult - 2), dead
messages, and push/pull every PushPullInterval scaled by memberlist's rule (a suspect or dead
member becomes suspect on the merging side; recent user events are exchanged). It leaves out:
Lifeguard's local health (awareness) stretching a prober's timeouts, false suspicions of live
nodes under loss and their refutations, stream latency in push/pull, and any other traffic (the
cluster is idle but for the one event). The "model against real code" table shows how close
this comes where both run.

**Bounds.** The epidemic bound is the classical number of rounds for push gossip with fanout f
to reach all of N nodes (Pittel 1987; Frieze and Grimmett): log_(1+f) N rounds while the informed
set grows (f+1)-fold, plus ln(N)/f rounds to catch the last ones, each uninformed node being
missed by all of a round's pushes with probability e^-f; times are rounds x GossipInterval. It
assumes synchronous rounds and unlimited forwarding; memberlist forwards each message only
RetransmitMult x ceil(log10(N+1)) times and each node gossips at its own phase, so it is a
yardstick, not a guarantee. Serf's published model is the curve of its convergence simulator
page (serf.io/docs/internals/simulator.html; default inputs: gossip interval 0.2 s, fanout 3,
no packet loss, no failed nodes): after x rounds a fraction 1 / (1 + (N+1) e^(-x f (1-loss) / 2))
of the nodes is informed, drawn at whole rounds, which gives 99.9% of 10,000 nodes at 2.2 s.
The failure floor is ProbeInterval plus the shortest Lifeguard suspicion timeout: no node can
declare a failure sooner after the first probe of the dead node.

**A memberlist detail the simulation exposed.** memberlist starts its gossip and probe tickers
when a node is created and staggers only the first tick it reads, not the ticker itself, so nodes
created in the same instant tick in lockstep for ever. In virtual time all nodes were created at
the same instant, and dissemination then moved in whole 200 ms steps. Real nodes start at
different times, so the simulation starts each node at a random moment within one probe interval.

**Memory.** Full membership is N^2: each node keeps a record of every member in memberlist
(nodeState) and in serf (member state, tags, Vivaldi coordinate), so the live heap grows with N^2
as measured above. 10,000 real nodes would hold 10^8 such records; the extrapolation above is
why 10,000 runs as the model only.
`
