// Package clitest checks the serf command line from the outside, the way
// a script or an operator sees it, against HashiCorp Serf itself.
//
// The cross-matrix tests run the same sequence of commands three ways for
// each Serf release in oracle.Versions: Serf's CLI against our agents,
// our CLI against Serf's agents, and, as the reference, Serf's CLI
// against Serf's agents. Each way gets its own fresh two-node cluster.
// The transcripts (exit code, stdout and stderr of every step) are
// normalised by one helper, normalize, which lists every rule and why it
// is needed, and must then be equal. A Serf release that is not cached is
// skipped unless SERF_INTEROP=1 makes that a failure.
//
// The seed tests replay, with our binary only, the two articles the
// project was started from (docs/seeds.md): an operator's walkthrough
// of agents, joins, event handlers and a JSON config file, and the
// start-up banner, join and Ctrl-C leave of a two-agent cluster.
//
// TestMonitorMultiLineLogEntry pins down how a log message of several
// lines reaches "serf monitor".
//
// Everything is in the _test.go files; this package has no API. It builds
// cmd/serf once per test binary (with -race when the tests run with it)
// and needs a Unix system with /bin/sh. SERF_CLITEST_BIN=<serf> tests
// another binary in place of ours; CLITEST_DUMP=1 logs the normalised
// reference transcripts.
package clitest
