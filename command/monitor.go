package command

import (
	"flag"
	"fmt"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/logutils"
	"github.com/openserf/serf/client"
)

// monitorRemoteEnded is printed when the agent closes the connection.
const monitorRemoteEnded = "Remote side ended the monitor! This usually means that the\n" +
	"remote side has exited or crashed."

// monitorSetup is `serf monitor`: it prints the agent's log lines and the
// events it sees until interrupted (exit 0) or until the agent goes away
// (exit 1).
func monitorSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	level := f.String("log-level", "INFO", "log level")
	return func(e *env, _ []string) int {
		return r.call(e.ui.Error, func(cl *client.RPCClient) int { return monitor(e, cl, *level) })
	}
}

// monitor is the work of `serf monitor` once connected.
func monitor(e *env, cl *client.RPCClient, level string) int {
	// The event stream is opened first, as Serf does, so that an event
	// the monitor's first log lines mention is not missed.
	eventCh := make(chan map[string]interface{}, 512)
	streamHandle, err := cl.Stream("*", eventCh)
	if err != nil {
		return failf(e.ui, "Error starting stream: %s", err)
	}
	logCh := make(chan string, 512)
	monitorHandle, err := cl.Monitor(logutils.LogLevel(level), logCh)
	if err != nil {
		return failf(e.ui, "Error starting monitor: %s", err)
	}

	// Both channels close when the connection ends.
	if !receiveBoth(logCh, eventCh, e.interrupt, e.ui.Info, func(ev map[string]interface{}) { printEvent(e.ui, ev) }) {
		// Stop closes the channels; nothing reads them any more.
		_ = cl.Stop(monitorHandle)
		_ = cl.Stop(streamHandle)
		return 0
	}
	e.ui.Info("")
	e.ui.Output(monitorRemoteEnded)
	return 1
}

// printEvent prints one stream record: "Event Info:", then a tab-indented
// "key: value" line per field, values in Go syntax (%#v). Serf prints the
// fields in map order; they are sorted here so that the output is stable.
func printEvent(ui cli.Ui, event map[string]interface{}) {
	ui.Info("Event Info:")
	for _, k := range sortedKeys(event) {
		ui.Info(fmt.Sprintf("\t%s: %#v", k, event[k]))
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
