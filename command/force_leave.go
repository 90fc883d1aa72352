package command

import (
	"flag"

	"github.com/openserf/serf/client"
)

// forceLeaveSetup is `serf force-leave`: it tells the cluster that a
// member has left, typically one that failed and will not come back.
func forceLeaveSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	prune := f.Bool("prune", false, "erase the member at once")
	return func(e *env, nodes []string) int {
		if len(nodes) != 1 {
			return e.usage("A node name must be specified to force leave.")
		}
		return r.call(e.ui.Error, func(rpc *client.RPCClient) int {
			var err error
			if *prune {
				err = rpc.ForceLeavePrune(nodes[0])
			} else {
				err = rpc.ForceLeave(nodes[0])
			}
			if err != nil {
				return failf(e.ui, "Error force leaving: %s", err)
			}
			return 0
		})
	}
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
