// Package agentproc runs serf agents as child processes for tests: ours
// (internal/testutil/serfbin) or a real Serf release
// (internal/testutil/oracle), the same way. Start runs "serf agent",
// owned by the test: its output is kept, it is stopped at cleanup and its
// output checked for data race reports and panics, and it is killed by
// the kernel if the test binary dies first. Agent.CLI runs client
// commands against it, and its Wait methods poll (internal/testutil/wait)
// until it has printed what a test expects, failing at once when it
// exits instead.
//
// Process is the part without a test: a started command and the
// goroutine that waits for it, for harnesses that own their processes in
// other ways (the multi-host suite's restartable agents, the benchmark's
// clusters).
//
// The package is for tests and test tools, on Unix systems.
package agentproc
