package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/logutils"
	"github.com/openserf/serf/client"
)

// monitorRemoteEnded is printed when the agent closes the connection.
const monitorRemoteEnded = "Remote side ended the monitor! This usually means that the\n" +
	"remote side has exited or crashed."

// MonitorCommand is `serf monitor`: it prints the agent's log lines and
// the events it sees until interrupted or until the agent goes away.
type MonitorCommand struct {
	UI cli.Ui
	// ShutdownCh ends the monitor (Ctrl-C); the command then exits 0.
	ShutdownCh <-chan struct{}
}

func (c *MonitorCommand) Synopsis() string { return "Stream logs from a Serf agent" }
func (c *MonitorCommand) Help() string     { return strings.TrimSpace(monitorHelp) }

// monitorOptions are the monitor command's flags.
type monitorOptions struct {
	rpcFlags
	logLevel string
}

// flags defines the command's flags on a new flag set, storing into o.
func (c *MonitorCommand) flags(o *monitorOptions) *flag.FlagSet {
	f := o.flagSet("monitor", c.UI, c.Help())
	f.StringVar(&o.logLevel, "log-level", "INFO", "log level")
	return f
}

// Run streams until ShutdownCh (exit 0) or the end of the connection
// (exit 1).
func (c *MonitorCommand) Run(args []string) int {
	var o monitorOptions
	return o.run(c.flags(&o), args, c.UI.Error, func(cl *client.RPCClient) int { return c.monitor(cl, &o) })
}

// monitor is the work of Run once connected.
func (c *MonitorCommand) monitor(cl *client.RPCClient, o *monitorOptions) int {
	// The event stream is opened first, as Serf does, so that an event
	// the monitor's first log lines mention is not missed.
	eventCh := make(chan map[string]interface{}, 512)
	streamHandle, err := cl.Stream("*", eventCh)
	if err != nil {
		return failf(c.UI, "Error starting stream: %s", err)
	}
	logCh := make(chan string, 512)
	monitorHandle, err := cl.Monitor(logutils.LogLevel(o.logLevel), logCh)
	if err != nil {
		return failf(c.UI, "Error starting monitor: %s", err)
	}

	// Both channels close when the connection ends.
	if !receiveBoth(logCh, eventCh, c.ShutdownCh, c.UI.Info, c.printEvent) {
		// Stop closes the channels; nothing reads them any more.
		_ = cl.Stop(monitorHandle)
		_ = cl.Stop(streamHandle)
		return 0
	}
	c.UI.Info("")
	c.UI.Output(monitorRemoteEnded)
	return 1
}

// printEvent prints one stream record: "Event Info:", then a tab-indented
// "key: value" line per field, values in Go syntax (%#v). Serf prints the
// fields in map order; they are sorted here so that the output is stable.
func (c *MonitorCommand) printEvent(event map[string]interface{}) {
	c.UI.Info("Event Info:")
	for _, k := range sortedKeys(event) {
		c.UI.Info(fmt.Sprintf("\t%s: %#v", k, event[k]))
	}
}

// monitorHelp is what "serf monitor -h" prints.
const monitorHelp = `
Usage: serf monitor [options]

  Attaches to a running agent and prints its log: first the lines it has
  kept from the recent past, then every new line as it is written, along
  with each event the agent receives. The level chosen here is independent
  of the agent's own: an agent logging at INFO can still be watched at
  DEBUG. Press Ctrl-C to detach.

Options:

  -log-level=info          Lowest level of the lines to print: trace, debug,
                           info, warn or err.
  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.
  -rpc-auth=""              RPC auth token of the Serf agent.
`
