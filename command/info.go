package command

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/cli"
)

// InfoCommand is `serf info`: it prints an agent's debugging statistics,
// section by section.
type InfoCommand struct {
	UI cli.Ui
}

// infoOptions holds the parsed flags of InfoCommand.
type infoOptions struct {
	format  string
	rpcAddr *string
	rpcAuth *string
}

func (c *InfoCommand) Synopsis() string {
	return "Provides debugging information for operators"
}

func (c *InfoCommand) Help() string {
	return strings.TrimSpace(`
Usage: serf info [options]

  Prints what a running Serf agent reports about itself for operators:
  its name, the Go runtime, Serf's counters and clocks (members, failed
  and left members, queue depths, health score, encryption), its tags
  and its event handlers.

Options:

  -format                   Output format: 'text' (the default) or 'json'.

  -rpc-addr=127.0.0.1:7373  Address of the agent's RPC server. Defaults to
                            $SERF_RPC_ADDR when that is set.

  -rpc-auth=""              Token for the agent's RPC server. Defaults to
                            $SERF_RPC_AUTH.
`)
}

// flags declares the command's flags into o.
func (c *InfoCommand) flags(o *infoOptions) *flag.FlagSet {
	f := flag.NewFlagSet("info", flag.ContinueOnError)
	f.Usage = func() { c.UI.Output(c.Help()) }
	f.StringVar(&o.format, "format", "text", "output format")
	o.rpcAddr, o.rpcAuth = rpcFlags(f)
	return f
}

func (c *InfoCommand) Run(args []string) int {
	var o infoOptions
	if err := c.flags(&o).Parse(args); err != nil {
		return 1
	}

	rpc, err := rpcClient(*o.rpcAddr, *o.rpcAuth)
	if err != nil {
		return printFailure(c.UI, o.format, connectError(err))
	}
	defer rpc.Close()

	stats, err := rpc.Stats()
	if err != nil {
		return printFailure(c.UI, o.format, fmt.Sprintf("Error querying agent: %s", err))
	}

	out, err := formatOutput(statsOutput(stats), o.format)
	if err != nil {
		c.UI.Error(fmt.Sprintf("Encoding error: %s", err))
		return 1
	}
	c.UI.Output(out)
	return 0
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

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
