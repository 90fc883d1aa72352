// Package oracle runs the real HashiCorp Serf next to ours in tests, so
// behaviour can be checked against the program we aim to be compatible
// with rather than against our reading of it.
//
// Binary installs a released serf binary with "go install" into a cache
// directory shared by every test package, and returns its path. Installs
// are serialised across processes with a file lock, since "go test ./..."
// runs packages in parallel. StartAgent runs "serf agent" as a child
// process that is killed when the test ends, and Agent.CLI runs serf
// client commands against it. Source returns real Serf's source tree from
// the Go module cache, for tests that compare texts with it.
//
// Interop tests are opt-in: without SERF_INTEROP=1 a missing oracle that
// cannot be installed skips the test; with it, the test fails instead, so
// CI cannot pass by skipping. The package is for tests only and needs a
// Unix system (it uses flock).
package oracle
