// Package oneproc sets the serf binary's thread count (GOMAXPROCS) to one
// while the process is still starting, unless the environment sets it.
//
// The agent's work is serial (one gossip loop, one packet reader) and
// one thread keeps up with thousands of events a second; with more, every
// packet or timer that wakes a goroutine also wakes an idle thread to look
// for more work, which on an idle agent costs more than the work itself.
// The client commands are short-lived and serial too.
//
// The setting is made here, in a package initialised before nearly all
// others, rather than in main: the runtime starts with a thread slot per
// core, and the package initialisers that run before main (a hundred and
// more in this binary) fill each slot's allocation cache with memory
// pages of its own. Shrinking to one afterwards frees the others'
// caches, touching them again. Measured on two cores, starting an agent
// here costs about a hundred fewer page faults (825 against 930) and a
// few milliseconds less CPU than shrinking in main, which a fleet booting
// at once pays once per agent.
//
// It imports only the runtime and syscall, so that it is initialised
// early; importing it for its side effect is all its use.
package oneproc

import (
	"runtime"
	"syscall"
)

// procs is the thread count the binary runs with when the environment
// does not choose one.
const procs = 1

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(procs)
	}
}
