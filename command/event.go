package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// EventCommand is `serf event`: it sends a user event, with an optional
// payload, through the cluster.
type EventCommand struct {
	UI cli.Ui
}

// eventOptions holds the parsed flags of EventCommand.
type eventOptions struct {
	rpcFlags
	coalesce bool
}

func (c *EventCommand) Synopsis() string { return "Send a custom event through the Serf cluster" }
func (c *EventCommand) Help() string     { return strings.TrimSpace(eventHelp) }

// flags declares the command's flags into o.
func (c *EventCommand) flags(o *eventOptions) *flag.FlagSet {
	f := o.flagSet("event", c.UI, c.Help())
	f.BoolVar(&o.coalesce, "coalesce", true, "whether the event may be coalesced")
	return f
}

func (c *EventCommand) Run(args []string) int {
	var o eventOptions
	f := c.flags(&o)
	if err := f.Parse(args); err != nil {
		return 1
	}

	args = f.Args()
	switch {
	case len(args) < 1:
		return usageError(c.UI, "An event name must be specified.", c.Help())
	case len(args) > 2:
		return usageError(c.UI, "Too many command line arguments. Only a name and payload must be specified.", c.Help())
	}
	name := args[0]
	var payload []byte // nil when absent, sent as msgpack nil as Serf does
	if len(args) == 2 {
		payload = []byte(args[1])
	}

	return o.call(c.UI.Error, func(rpc *client.RPCClient) int {
		if err := rpc.UserEvent(name, payload, o.coalesce); err != nil {
			return failf(c.UI, "Error sending event: %s", err)
		}
		c.UI.Output(fmt.Sprintf("Event '%s' dispatched! Coalescing enabled: %#v", name, o.coalesce))
		return 0
	})
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
