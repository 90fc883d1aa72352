package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
)

// ForceLeaveCommand is `serf force-leave`: it tells the cluster that a
// member has left, typically one that failed and will not come back.
type ForceLeaveCommand struct {
	UI cli.Ui
}

// forceLeaveOptions holds the parsed flags of ForceLeaveCommand.
type forceLeaveOptions struct {
	prune   bool
	rpcAddr *string
	rpcAuth *string
}

func (c *ForceLeaveCommand) Synopsis() string {
	return "Forces a member of the cluster to enter the \"left\" state"
}

func (c *ForceLeaveCommand) Help() string {
	return strings.TrimSpace(`
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
  -rpc-addr=127.0.0.1:7373  Address of the agent's RPC server. Defaults to
                            $SERF_RPC_ADDR when that is set.
  -rpc-auth=""              Token for the agent's RPC server. Defaults to
                            $SERF_RPC_AUTH.
`)
}

// flags declares the command's flags into o.
func (c *ForceLeaveCommand) flags(o *forceLeaveOptions) *flag.FlagSet {
	// Serf's flag set for this command is named "join"; the name shows
	// nowhere, but we keep it.
	f := flag.NewFlagSet("join", flag.ContinueOnError)
	f.Usage = func() { c.UI.Output(c.Help()) }
	f.BoolVar(&o.prune, "prune", false, "erase the member at once")
	o.rpcAddr, o.rpcAuth = rpcFlags(f)
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
		c.UI.Error("A node name must be specified to force leave.")
		c.UI.Error("")
		c.UI.Error(c.Help())
		return 1
	}

	rpc, err := rpcClient(*o.rpcAddr, *o.rpcAuth)
	if err != nil {
		c.UI.Error(connectError(err))
		return 1
	}
	defer rpc.Close()

	if o.prune {
		err = rpc.ForceLeavePrune(nodes[0])
	} else {
		err = rpc.ForceLeave(nodes[0])
	}
	if err != nil {
		c.UI.Error(fmt.Sprintf("Error force leaving: %s", err))
		return 1
	}
	return 0
}
