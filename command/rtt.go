package command

import (
	"flag"
	"fmt"

	"github.com/openserf/serf/client"
)

// rttSetup is `serf rtt`: it estimates the round trip time between two
// nodes from the network coordinates the agent holds for them. It has only
// the RPC flags. Serf connects before it looks at the node names, so a
// usage error against an unreachable agent reports the connection.
func rttSetup(_ *flag.FlagSet, r *rpcFlags) workFunc {
	return func(e *env, nodes []string) int {
		return r.call(e.ui.Error, func(cl *client.RPCClient) int { return estimate(e, cl, nodes) })
	}
}

// estimate is the work of `serf rtt` once connected, for the nodes named
// on the command line. It prints the estimate and returns 0, or 1 when a
// coordinate is missing or the agent cannot be asked.
func estimate(e *env, cl *client.RPCClient, nodes []string) int {
	switch len(nodes) {
	case 1:
		stats, err := cl.Stats()
		if err != nil {
			return failf(e.ui, "Error querying agent: %s", err)
		}
		nodes = append(nodes, stats["agent"]["name"])
	case 2:
	default:
		return e.usage("One or two node names must be specified")
	}

	var coords [2]*client.Coordinate
	for i, node := range nodes {
		coord, err := cl.GetCoordinate(node)
		if err != nil {
			return failf(e.ui, "Error getting coordinates: %s", err)
		}
		if coord == nil {
			return failf(e.ui, "Could not find a coordinate for node %q", node)
		}
		coords[i] = coord
	}

	ms := coords[0].DistanceTo(coords[1]).Seconds() * 1000
	e.ui.Output(fmt.Sprintf("Estimated %s <-> %s rtt: %.3f ms", nodes[0], nodes[1], ms))
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
