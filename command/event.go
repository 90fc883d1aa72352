package command

import (
	"flag"
	"fmt"

	"github.com/openserf/serf/client"
)

// eventSetup is `serf event`: it sends a user event, with an optional
// payload, through the cluster.
func eventSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	coalesce := f.Bool("coalesce", true, "whether the event may be coalesced")
	return func(e *env, args []string) int {
		switch {
		case len(args) < 1:
			return e.usage("An event name must be specified.")
		case len(args) > 2:
			return e.usage("Too many command line arguments. Only a name and payload must be specified.")
		}
		name := args[0]
		var payload []byte // nil when absent, sent as msgpack nil as Serf does
		if len(args) == 2 {
			payload = []byte(args[1])
		}

		return r.call(e.ui.Error, func(rpc *client.RPCClient) int {
			if err := rpc.UserEvent(name, payload, *coalesce); err != nil {
				return failf(e.ui, "Error sending event: %s", err)
			}
			e.ui.Output(fmt.Sprintf("Event '%s' dispatched! Coalescing enabled: %#v", name, *coalesce))
			return 0
		})
	}
}

// eventHelp is what "serf event -h" prints.
const eventHelp = `
Usage: serf event [options] name payload

  Sends a user event called name through the cluster; every agent runs
  the handlers registered for it. The payload is optional. Name and
  payload together must stay within the agent's user event size limit
  (512 bytes by default).

Options:

  -coalesce=true/false      Whether agents may coalesce this event: when
                            several events of the same name arrive close
                            together, only the newest reaches the
                            handlers. Default is true.
` + rpcAddrHelp + rpcAuthHelp
