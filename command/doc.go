// Package command holds the serf subcommands, one file per command, and
// the table that maps command names to them (Commands).
//
// The commands that talk to a running agent share one frame, rpcCommand
// (commands.go): it answers hashicorp/cli's Help and Synopsis, and its Run
// makes the flag set with -rpc-addr and -rpc-auth, lets the command add
// its own flags, parses and runs the command's work. Each command file
// holds that work, made by a setup function, and its help text; keygen and
// version, which need no agent, are small structs of their own. Results
// are written with the UI's Output and failures with its Error; cmd/serf
// gives the commands a UI without an error writer, so both land on
// stdout, as they do in Serf.
// Help text, usage errors from the flag package and the top-level usage
// go to stderr.
//
// Commands that talk to a running agent do so only through the client
// package. The agent subcommand is package command/agentcmd, the only one that
// reaches into the agent package; this package never does.
// Commands never call os.Exit: Run returns the exit code.
package command
