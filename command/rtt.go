package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// RTTCommand is `serf rtt`: it estimates the round trip time between two
// nodes from the network coordinates the agent holds for them.
type RTTCommand struct {
	UI cli.Ui
}

func (c *RTTCommand) Synopsis() string { return "Estimates network round trip time between nodes" }
func (c *RTTCommand) Help() string     { return strings.TrimSpace(rttHelp) }

// rttOptions are the rtt command's flags, only the RPC ones.
type rttOptions struct {
	rpcFlags
}

// flags defines the command's flags on a new flag set, storing into o.
func (c *RTTCommand) flags(o *rttOptions) *flag.FlagSet {
	return o.flagSet("rtt", c.UI, c.Help())
}

// Run prints the estimate and returns 0, or 1 when a coordinate is
// missing or the agent cannot be asked.
func (c *RTTCommand) Run(args []string) int {
	// Serf connects before it looks at the node names, so a usage error
	// against an unreachable agent reports the connection.
	var o rttOptions
	f := c.flags(&o)
	return o.run(f, args, c.UI.Error, func(cl *client.RPCClient) int { return c.estimate(cl, f.Args()) })
}

// estimate is the work of Run once connected, for the nodes named on the
// command line.
func (c *RTTCommand) estimate(cl *client.RPCClient, nodes []string) int {
	switch len(nodes) {
	case 1:
		stats, err := cl.Stats()
		if err != nil {
			return failf(c.UI, "Error querying agent: %s", err)
		}
		nodes = append(nodes, stats["agent"]["name"])
	case 2:
	default:
		return usageError(c.UI, "One or two node names must be specified", c.Help())
	}

	var coords [2]*client.Coordinate
	for i, node := range nodes {
		coord, err := cl.GetCoordinate(node)
		if err != nil {
			return failf(c.UI, "Error getting coordinates: %s", err)
		}
		if coord == nil {
			return failf(c.UI, "Could not find a coordinate for node %q", node)
		}
		coords[i] = coord
	}

	ms := coords[0].DistanceTo(coords[1]).Seconds() * 1000
	c.UI.Output(fmt.Sprintf("Estimated %s <-> %s rtt: %.3f ms", nodes[0], nodes[1], ms))
	return 0
}

// rttHelp is what "serf rtt -h" prints.
const rttHelp = `
Usage: serf rtt [options] node1 [node2]

  Prints an estimate of the network round trip time between two nodes,
  computed from the Vivaldi network coordinates Serf keeps for every member.
  No packets are sent to measure it.

  Nodes are named as "serf members" shows them, not by address. With one
  name the other node is the agent this command talks to.

Options:

  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.

  -rpc-auth=""              RPC auth token of the Serf agent.
`
