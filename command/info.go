package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/openserf/serf/client"
)

// infoSetup is `serf info`: it prints an agent's debugging statistics,
// section by section.
func infoSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	format := f.String("format", "text", "output format")
	return func(e *env, _ []string) int {
		fail := func(msg string) int { return printFailure(e.ui, *format, msg) }
		return r.call(func(msg string) { fail(msg) }, func(rpc *client.RPCClient) int {
			stats, err := rpc.Stats()
			if err != nil {
				return fail(fmt.Sprintf("Error querying agent: %s", err))
			}
			return printOutput(e.ui, statsOutput(stats), *format)
		})
	}
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
