package command

import (
	"flag"

	"github.com/openserf/serf/client"
)

// leaveSetup is `serf leave`: it makes a running agent leave the cluster
// gracefully, after which the agent shuts down. It has only the RPC
// flags, and ignores its arguments, as Serf's does.
func leaveSetup(_ *flag.FlagSet, r *rpcFlags) workFunc {
	return func(e *env, _ []string) int {
		return r.call(e.ui.Error, func(rpc *client.RPCClient) int {
			if err := rpc.Leave(); err != nil {
				return failf(e.ui, "Error leaving: %s", err)
			}
			e.ui.Output("Graceful leave complete")
			return 0
		})
	}
}

// leaveHelp is what "serf leave -h" prints.
const leaveHelp = `
Usage: serf leave

  Tells a running Serf agent to announce that it is leaving, so that the
  other members mark it "left" rather than "failed", and then to stop.

Options:

` + rpcAddrHelp + rpcAuthHelp
