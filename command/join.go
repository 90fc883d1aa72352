package command

import (
	"flag"
	"fmt"

	"github.com/openserf/serf/client"
)

// joinSetup is `serf join`: it asks a running agent to join the cluster
// of one or more existing members.
func joinSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	replay := f.Bool("replay", false, "replay past user events")
	return func(e *env, addrs []string) int {
		if len(addrs) == 0 {
			return e.usage("At least one address to join must be specified.")
		}
		return r.call(e.ui.Error, func(rpc *client.RPCClient) int {
			// The agent reports success when it reached at least one
			// address; the count can be nonzero along with an error, which
			// wins, as in Serf.
			n, err := rpc.Join(addrs, *replay)
			if err != nil {
				return failf(e.ui, "Error joining the cluster: %s", err)
			}
			e.ui.Output(fmt.Sprintf("Successfully joined cluster by contacting %d nodes.", n))
			return 0
		})
	}
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
