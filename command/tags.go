package command

import (
	"flag"

	"github.com/openserf/serf/client"

	"github.com/openserf/serf/command/flags"
)

// tagsSetup is `serf tags`: it sets and deletes tags of a running agent,
// which gossips the change to the cluster.
func tagsSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	var set, del flags.List
	f.Var(&set, "set", "tag to set, key=value")
	f.Var(&del, "delete", "tag key to delete")
	return func(e *env, _ []string) int {
		if len(set) == 0 && len(del) == 0 {
			e.ui.Output(e.help)
			return 1
		}
		// Serf connects before it checks the -set values, so an unreachable
		// agent is reported ahead of a malformed tag; we keep that order.
		return r.call(e.ui.Error, func(rpc *client.RPCClient) int {
			tags, err := flags.ParseTags(set)
			if err != nil {
				return failf(e.ui, "Error: %s", err)
			}
			if err := rpc.UpdateTags(tags, del); err != nil {
				return failf(e.ui, "Error setting tags: %s", err)
			}
			e.ui.Output("Successfully updated agent tags")
			return 0
		})
	}
}

// tagsHelp is what "serf tags -h" prints.
const tagsHelp = `
Usage: serf tags [options] ...

  Changes the tags of a running Serf agent. The other members learn the
  new tags by gossip. Deletions are applied first, then the -set values,
  so a key given to both ends up set. An agent with a tags file saves
  the result there, so it survives a restart.

Options:

` + rpcAddrHelp + rpcAuthHelp +
	`  -set key=value            Add the tag, or change its value. Repeatable.
  -delete key               Remove the tag if the agent has it. Repeatable.
`
