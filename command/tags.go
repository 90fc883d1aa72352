package command

import (
	"flag"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"

	"github.com/openserf/serf/command/flags"
)

// TagsCommand is `serf tags`: it sets and deletes tags of a running
// agent, which gossips the change to the cluster.
type TagsCommand struct {
	UI cli.Ui
}

// tagsOptions holds the parsed flags of TagsCommand.
type tagsOptions struct {
	rpcFlags
	set    flags.List
	delete flags.List
}

func (c *TagsCommand) Synopsis() string { return "Modify tags of a running Serf agent" }
func (c *TagsCommand) Help() string     { return strings.TrimSpace(tagsHelp) }

// flags declares the command's flags into o.
func (c *TagsCommand) flags(o *tagsOptions) *flag.FlagSet {
	f := o.flagSet("tags", c.UI, c.Help())
	f.Var(&o.set, "set", "tag to set, key=value")
	f.Var(&o.delete, "delete", "tag key to delete")
	return f
}

func (c *TagsCommand) Run(args []string) int {
	var o tagsOptions
	if err := c.flags(&o).Parse(args); err != nil {
		return 1
	}

	if len(o.set) == 0 && len(o.delete) == 0 {
		c.UI.Output(c.Help())
		return 1
	}

	// Serf connects before it checks the -set values, so an unreachable
	// agent is reported ahead of a malformed tag; we keep that order.
	return o.call(c.UI.Error, func(rpc *client.RPCClient) int {
		tags, err := flags.ParseTags(o.set)
		if err != nil {
			return failf(c.UI, "Error: %s", err)
		}
		if err := rpc.UpdateTags(tags, o.delete); err != nil {
			return failf(c.UI, "Error setting tags: %s", err)
		}
		c.UI.Output("Successfully updated agent tags")
		return 0
	})
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
