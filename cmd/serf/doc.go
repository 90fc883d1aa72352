// Command serf is both the Serf agent and the command-line client that
// talks to it: "serf agent" runs the daemon and every other subcommand
// (members, join, event, ...) is a short-lived client.
//
// main only wires things together: it builds the command table from
// package command, hands it the command line and exits with the code the
// command returns. Behaviour that Serf users rely on lives here too:
// "-v" or "--version" anywhere on the line runs the version command, the
// bare "serf" prints usage and exits 127, and the standard library logger
// is silenced.
package main
