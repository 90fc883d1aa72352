package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
)

// EventCommand is `serf event`: it sends a user event, with an optional
// payload, through the cluster.
type EventCommand struct {
	UI cli.Ui
}

// eventOptions holds the parsed flags of EventCommand.
type eventOptions struct {
	coalesce bool
	rpcAddr  *string
	rpcAuth  *string
}

func (c *EventCommand) Synopsis() string {
	return "Send a custom event through the Serf cluster"
}

func (c *EventCommand) Help() string {
	return strings.TrimSpace(`
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
  -rpc-addr=127.0.0.1:7373  Address of the agent's RPC server. Defaults to
                            $SERF_RPC_ADDR when that is set.
  -rpc-auth=""              Token for the agent's RPC server. Defaults to
                            $SERF_RPC_AUTH.
`)
}

// flags declares the command's flags into o.
func (c *EventCommand) flags(o *eventOptions) *flag.FlagSet {
	f := flag.NewFlagSet("event", flag.ContinueOnError)
	f.Usage = func() { c.UI.Output(c.Help()) }
	f.BoolVar(&o.coalesce, "coalesce", true, "whether the event may be coalesced")
	o.rpcAddr, o.rpcAuth = rpcFlags(f)
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
		c.UI.Error("An event name must be specified.")
		c.UI.Error("")
		c.UI.Error(c.Help())
		return 1
	case len(args) > 2:
		c.UI.Error("Too many command line arguments. Only a name and payload must be specified.")
		c.UI.Error("")
		c.UI.Error(c.Help())
		return 1
	}
	name := args[0]
	var payload []byte // nil when absent, sent as msgpack nil as Serf does
	if len(args) == 2 {
		payload = []byte(args[1])
	}

	rpc, err := rpcClient(*o.rpcAddr, *o.rpcAuth)
	if err != nil {
		c.UI.Error(connectError(err))
		return 1
	}
	defer rpc.Close()

	if err := rpc.UserEvent(name, payload, o.coalesce); err != nil {
		c.UI.Error(fmt.Sprintf("Error sending event: %s", err))
		return 1
	}
	c.UI.Output(fmt.Sprintf("Event '%s' dispatched! Coalescing enabled: %#v", name, o.coalesce))
	return 0
}
