// Package oracle gives tests the real HashiCorp Serf to run next to ours, so
// behaviour can be checked against the program we aim to be compatible
// with rather than against our reading of it.
//
// Binary installs a released serf binary with "go install" into a cache
// directory shared by every test package, and returns its path. Installs
// are serialised across processes with a file lock, since "go test ./..."
// runs packages in parallel; internal/testutil/agentproc runs them as agents.
// Source returns real Serf's source tree from the Go module cache, for
// tests that compare texts with it. FreePorts and FreeAddr pick the ports
// agents listen on.
//
// Interop tests are opt-in: without SERF_INTEROP=1 a missing oracle that
// cannot be installed skips the test; with it, the test fails instead, so
// CI cannot pass by skipping. The package is for tests only and needs a
// Unix system (it uses flock).
package oracle
