// Package command holds the serf subcommands, one file per command, and
// the table that maps command names to them (Commands).
//
// Every command is a small struct with a UI field and the three methods
// hashicorp/cli asks for: Help, Synopsis and Run. Results are written with
// UI.Output and failures with UI.Error; cmd/serf gives the commands a UI
// without an error writer, so both land on stdout, as they do in Serf.
// Help text, usage errors from the flag package and the top-level usage
// go to stderr.
//
// Commands that talk to a running agent do so only through the client
// package. The agent subcommand is package command/agentcmd, the only one that
// reaches into the agent package; this package never does.
// Commands never call os.Exit: Run returns the exit code.
package command
