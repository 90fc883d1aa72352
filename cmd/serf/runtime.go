package main

import (
	"os"
	"time"
)

// The agent is a small, mostly waiting daemon: a few goroutines wake for
// the gossip and probe timers, read a packet, and sleep again. Go's
// defaults suit a busy server instead, and an idle agent spends most of
// its own CPU in the scheduler and most of its private memory in heap
// headroom. The agent therefore starts with settings of its own, each
// overridden by the usual environment variable.
const (
	// agentGCPercent is the garbage collection target (GOGC). The live
	// heap is well under a megabyte for tens of members; Go's default of
	// 100, with a 4 MB minimum heap, lets the heap grow to several times
	// that. At 25 the minimum is 1 MB, for little CPU on so small a heap.
	// While the agent is busy, starting up included, gcTuner keeps Go's
	// default (gctune.go).
	agentGCPercent = 25
	// agentTimerSlack is how late the kernel may wake a thread whose
	// sleep is over, to wake it together with others (Linux's timer
	// slack, 50 us unless the parent chose another). The agent's own
	// timers are of 100 ms and more (the local profile's gossip), but the
	// runtime's monitor thread sleeps 20 us at a time while the process
	// is busy, and on a machine short of CPU every agent looks busy,
	// waiting for a core: in a fleet of 200 agents booting at once on two
	// cores the monitor threads took a sixth of all the agents' CPU, and
	// a tenth with a slack of 1 ms. At 5 ms the whole boot took 15% less
	// CPU again (seven interleaved pairs of boots, six won), while 20 ms
	// gained nothing more. Timers fire at most that much later, a
	// twentieth of the shortest of them; packets wake the agent as before.
	agentTimerSlack = 5 * time.Millisecond
)

// tuneAgentRuntime applies the settings above that the environment does
// not choose. It is called only for "serf agent": the other commands are
// short-lived clients.
//
// The thread count is not among them: package oneproc sets it for the
// whole binary while the process starts. The collection target starts
// busy, at Go's default: the start-up's heap is nearly all live
// (packages' tables, configuration, listeners, then the member list a
// join brings), and at 25 a collection in the middle of it bought
// nothing for a tenth of the CPU an agent needs to start, which a fleet
// booting at once pays a hundred times over. The tuner lowers it once
// the agent is quiet.
func tuneAgentRuntime() {
	setTimerSlack(agentTimerSlack)
	if os.Getenv("GOGC") == "" {
		startGCTuner()
	}
}
