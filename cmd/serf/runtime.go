package main

import (
	"os"
	"runtime"
	"runtime/debug"
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
	// While the agent is busy, gcTuner raises it (gctune.go).
	agentGCPercent = 25
	// agentMaxProcs is the number of threads running Go code at once
	// (GOMAXPROCS). With more than one, every packet or timer that wakes a
	// goroutine also wakes an idle thread to look for more work, which on
	// an idle agent costs more than the work itself; the agent's work is
	// serial (one gossip loop, one packet reader) and one thread keeps up
	// with thousands of events a second.
	agentMaxProcs = 1
)

// tuneAgentRuntime applies the settings above that the environment does
// not choose. It is called only for "serf agent": the other commands are
// short-lived clients.
func tuneAgentRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
		startGCTuner()
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(agentMaxProcs)
	}
}
