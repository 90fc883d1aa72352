// Package e2e tests the serf binary end to end, the way an operator uses
// it: it builds cmd/serf once, starts "serf agent" processes on their own
// 127.0.0.x addresses, drives them with signals, config files and the
// CLI, and reads what they print and what their event-handler scripts
// write.
//
// Everything is in the _test.go files; this package has no API. The
// agents run under internal/testutil/agentproc; client commands are
// always ours.
// Tests that compare our agent with the real one run the released Serf
// binaries side by side with ours; they are skipped when those binaries
// are not cached, unless SERF_INTEROP=1 makes that a failure.
//
// The tests need a Unix system with /bin/sh.
package e2e
