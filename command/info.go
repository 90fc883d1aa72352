package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// InfoCommand is `serf info`: it prints an agent's debugging statistics,
// section by section.
type InfoCommand struct {
	UI cli.Ui
}

// infoOptions holds the parsed flags of InfoCommand.
type infoOptions struct {
	rpcFlags
	format string
}

func (c *InfoCommand) Synopsis() string { return "Provides debugging information for operators" }
func (c *InfoCommand) Help() string     { return strings.TrimSpace(infoHelp) }

// flags declares the command's flags into o.
func (c *InfoCommand) flags(o *infoOptions) *flag.FlagSet {
	f := o.flagSet("info", c.UI, c.Help())
	f.StringVar(&o.format, "format", "text", "output format")
	return f
}

func (c *InfoCommand) Run(args []string) int {
	var o infoOptions
	return o.run(c.flags(&o), args, func(msg string) { printFailure(c.UI, o.format, msg) }, func(rpc *client.RPCClient) int {
		stats, err := rpc.Stats()
		if err != nil {
			return printFailure(c.UI, o.format, fmt.Sprintf("Error querying agent: %s", err))
		}
		return printOutput(c.UI, statsOutput(stats), o.format)
	})
}

// statsOutput is what info prints: section name to key to value. JSON
// keeps it as the nested object the agent sent.
type statsOutput map[string]map[string]string

// String renders each section, in name order, as a "<section>:" line
// followed by its entries, in key order, as TAB-indented "key = value".
func (s statsOutput) String() string {
	var b strings.Builder
	for _, section := range sortedKeys(s) {
		fmt.Fprintf(&b, "%s:\n", section)
		entries := s[section]
		for _, k := range sortedKeys(entries) {
			fmt.Fprintf(&b, "\t%s = %s\n", k, entries[k])
		}
	}
	return b.String()
}

// infoHelp is what "serf info -h" prints.
const infoHelp = `
Usage: serf info [options]

  Prints what a running Serf agent reports about itself for operators:
  its name, the Go runtime, Serf's counters and clocks (members, failed
  and left members, queue depths, health score, encryption), its tags
  and its event handlers.

Options:

  -format                   Output format: 'text' (the default) or 'json'.

` + rpcAddrHelp + "\n" + rpcAuthHelp
