package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
)

// LeaveCommand is `serf leave`: it makes a running agent leave the
// cluster gracefully, after which the agent shuts down.
type LeaveCommand struct {
	UI cli.Ui
}

// leaveOptions holds the parsed flags of LeaveCommand.
type leaveOptions struct {
	rpcAddr *string
	rpcAuth *string
}

func (c *LeaveCommand) Synopsis() string {
	return "Gracefully leaves the Serf cluster and shuts down"
}

func (c *LeaveCommand) Help() string {
	return strings.TrimSpace(`
Usage: serf leave

  Tells a running Serf agent to announce that it is leaving, so that the
  other members mark it "left" rather than "failed", and then to stop.

Options:

  -rpc-addr=127.0.0.1:7373  Address of the agent's RPC server. Defaults to
                            $SERF_RPC_ADDR when that is set.
  -rpc-auth=""              Token for the agent's RPC server. Defaults to
                            $SERF_RPC_AUTH.
`)
}

// flags declares the command's flags into o.
func (c *LeaveCommand) flags(o *leaveOptions) *flag.FlagSet {
	f := flag.NewFlagSet("leave", flag.ContinueOnError)
	f.Usage = func() { c.UI.Output(c.Help()) }
	o.rpcAddr, o.rpcAuth = rpcFlags(f)
	return f
}

func (c *LeaveCommand) Run(args []string) int {
	var o leaveOptions
	if err := c.flags(&o).Parse(args); err != nil {
		return 1
	}

	rpc, err := rpcClient(*o.rpcAddr, *o.rpcAuth)
	if err != nil {
		c.UI.Error(connectError(err))
		return 1
	}
	defer rpc.Close()

	if err := rpc.Leave(); err != nil {
		c.UI.Error(fmt.Sprintf("Error leaving: %s", err))
		return 1
	}
	c.UI.Output("Graceful leave complete")
	return 0
}
