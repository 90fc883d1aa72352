// Package agentcmd is `serf agent`: it reads the agent's flags and config
// files, prints the banner and the warnings package agent returns, and maps
// signals to agent calls. The daemon itself is package agent. It is a
// package of its own so that package command, the client commands, never
// reaches the serf library or memberlist.
package agentcmd
