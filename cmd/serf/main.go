package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"slices"

	"github.com/hashicorp/cli"
	_ "github.com/openserf/serf/cmd/serf/internal/oneproc"
	"github.com/openserf/serf/command"
	"github.com/openserf/serf/command/agentcmd"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line args (without the program name) and
// returns the process exit code.
func run(args []string) int {
	// Libraries that log through the standard logger must stay quiet:
	// command output is read by scripts.
	log.SetOutput(io.Discard)

	if len(args) > 0 && args[0] == "agent" {
		tuneAgentRuntime()
	}

	// No ErrorWriter: UI.Error goes to stdout, as it does in Serf, and
	// scripts that parse Serf's output expect it there.
	ui := &cli.BasicUi{Writer: os.Stdout, Reader: os.Stdin}

	commands := command.Commands(ui)
	commands["agent"] = func() (cli.Command, error) { return &agentcmd.AgentCommand{UI: ui}, nil }
	c := &cli.CLI{
		Name:     "serf",
		Args:     versionArgs(args),
		Commands: commands,
		HelpFunc: cli.BasicHelpFunc("serf"),
		// Shell completion of commands, beyond Serf: bash and zsh call
		// the binary with COMP_LINE set, and -autocomplete-install or
		// -autocomplete-uninstall, given before any command, add or
		// remove the line in ~/.bashrc and ~/.zshrc that makes them.
		Autocomplete: true,
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error executing CLI: %s\n", err)
		return 1
	}
	return code
}

// versionArgs returns args with "version" in front when "-v" or
// "--version" appears anywhere in them, so "serf members -v" prints the
// version. The version command ignores the rest.
func versionArgs(args []string) []string {
	if slices.Contains(args, "-v") || slices.Contains(args, "--version") {
		return append([]string{"version"}, args...)
	}
	return args
}
