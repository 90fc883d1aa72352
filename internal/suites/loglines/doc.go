// Package loglines holds the test that keeps our log lines Serf's: every
// "[LEVEL] subsystem: message" format string in real Serf 0.11.0's
// library, agent, commands and RPC client must appear in ours, byte for
// byte, and every line of ours must be one of Serf's, one of
// memberlist's (for the transport code we run in its place), or one
// listed with its reason in the test's allow-lists, which
// docs/compatibility.md repeats. The strings are read from the source
// with go/ast, Serf's from the Go module cache. The package has no code
// of its own.
package loglines
