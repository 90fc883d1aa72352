package command

import (
	"flag"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// LeaveCommand is `serf leave`: it makes a running agent leave the
// cluster gracefully, after which the agent shuts down.
type LeaveCommand struct {
	UI cli.Ui
}

// leaveOptions holds the parsed flags of LeaveCommand, only the RPC ones.
type leaveOptions struct {
	rpcFlags
}

func (c *LeaveCommand) Synopsis() string { return "Gracefully leaves the Serf cluster and shuts down" }
func (c *LeaveCommand) Help() string     { return strings.TrimSpace(leaveHelp) }

// flags declares the command's flags into o.
func (c *LeaveCommand) flags(o *leaveOptions) *flag.FlagSet {
	return o.flagSet("leave", c.UI, c.Help())
}

func (c *LeaveCommand) Run(args []string) int {
	var o leaveOptions
	return o.run(c.flags(&o), args, c.UI.Error, func(rpc *client.RPCClient) int {
		if err := rpc.Leave(); err != nil {
			return failf(c.UI, "Error leaving: %s", err)
		}
		c.UI.Output("Graceful leave complete")
		return 0
	})
}

// leaveHelp is what "serf leave -h" prints.
const leaveHelp = `
Usage: serf leave

  Tells a running Serf agent to announce that it is leaving, so that the
  other members mark it "left" rather than "failed", and then to stop.

Options:

` + rpcAddrHelp + rpcAuthHelp
