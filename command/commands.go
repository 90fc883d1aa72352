package command

import "github.com/hashicorp/cli"

// Commands returns the factory for every subcommand, keyed by the name
// typed on the command line. All commands share ui.
//
// The table grows as commands are written; Serf's full set is agent,
// event, force-leave, info, join, keygen, keys, leave, members, monitor,
// query, reachability, rtt, tags and version. There is no help command.
func Commands(ui cli.Ui) map[string]cli.CommandFactory {
	return map[string]cli.CommandFactory{
		"agent": func() (cli.Command, error) {
			return &AgentCommand{UI: ui}, nil
		},
		"version": func() (cli.Command, error) {
			return &VersionCommand{UI: ui}, nil
		},
	}
}
