package command

import (
	"flag"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// ForceLeaveCommand is `serf force-leave`: it tells the cluster that a
// member has left, typically one that failed and will not come back.
type ForceLeaveCommand struct {
	UI cli.Ui
}

// forceLeaveOptions holds the parsed flags of ForceLeaveCommand.
type forceLeaveOptions struct {
	rpcFlags
	prune bool
}

func (c *ForceLeaveCommand) Synopsis() string {
	return "Forces a member of the cluster to enter the \"left\" state"
}

func (c *ForceLeaveCommand) Help() string { return strings.TrimSpace(forceLeaveHelp) }

// flags declares the command's flags into o.
func (c *ForceLeaveCommand) flags(o *forceLeaveOptions) *flag.FlagSet {
	// Serf's flag set for this command is named "join"; the name shows
	// nowhere, but we keep it.
	f := o.flagSet("join", c.UI, c.Help())
	f.BoolVar(&o.prune, "prune", false, "erase the member at once")
	return f
}

func (c *ForceLeaveCommand) Run(args []string) int {
	var o forceLeaveOptions
	f := c.flags(&o)
	if err := f.Parse(args); err != nil {
		return 1
	}

	nodes := f.Args()
	if len(nodes) != 1 {
		return usageError(c.UI, "A node name must be specified to force leave.", c.Help())
	}

	return o.call(c.UI.Error, func(rpc *client.RPCClient) int {
		var err error
		if o.prune {
			err = rpc.ForceLeavePrune(nodes[0])
		} else {
			err = rpc.ForceLeave(nodes[0])
		}
		if err != nil {
			return failf(c.UI, "Error force leaving: %s", err)
		}
		return 0
	})
}

// forceLeaveHelp is what "serf force-leave -h" prints.
const forceLeaveHelp = `
Usage: serf force-leave [options] name

  Marks the named member as "left" throughout the cluster. Use it for a
  member that failed and is gone for good: otherwise the agents keep
  trying to reconnect to it until the reconnect timeout expires. A member
  that is in fact still running will rejoin on its own. An unknown name
  is not an error. Nothing is printed on success.

Options:

  -prune                    Also erase the member from the member list at
                            once, instead of keeping it as "left" until it
                            is reaped.
` + rpcAddrHelp + rpcAuthHelp
