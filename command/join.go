package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// JoinCommand is `serf join`: it asks a running agent to join the cluster
// of one or more existing members.
type JoinCommand struct {
	UI cli.Ui
}

// joinOptions holds the parsed flags of JoinCommand.
type joinOptions struct {
	rpcFlags
	replay bool
}

func (c *JoinCommand) Synopsis() string { return "Tell Serf agent to join cluster" }
func (c *JoinCommand) Help() string     { return strings.TrimSpace(joinHelp) }

// flags declares the command's flags into o.
func (c *JoinCommand) flags(o *joinOptions) *flag.FlagSet {
	f := o.flagSet("join", c.UI, c.Help())
	f.BoolVar(&o.replay, "replay", false, "replay past user events")
	return f
}

func (c *JoinCommand) Run(args []string) int {
	var o joinOptions
	f := c.flags(&o)
	if err := f.Parse(args); err != nil {
		return 1
	}

	addrs := f.Args()
	if len(addrs) == 0 {
		return usageError(c.UI, "At least one address to join must be specified.", c.Help())
	}

	return o.call(c.UI.Error, func(rpc *client.RPCClient) int {
		// The agent reports success when it reached at least one address;
		// the count can be nonzero along with an error, which wins, as in Serf.
		n, err := rpc.Join(addrs, o.replay)
		if err != nil {
			return failf(c.UI, "Error joining the cluster: %s", err)
		}
		c.UI.Output(fmt.Sprintf("Successfully joined cluster by contacting %d nodes.", n))
		return 0
	})
}

// joinHelp is what "serf join -h" prints.
const joinHelp = `
Usage: serf join [options] address ...

  Asks a running Serf agent to join a cluster through the members at the
  given addresses. One reachable address is enough. An address is host,
  host:port or [ipv6]:port; without a port the agent's own bind port is
  used.

Options:

  -replay                   Also deliver the user events sent in the
                            cluster before the join.
` + rpcAddrHelp + rpcAuthHelp
