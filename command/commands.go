package command

import (
	"flag"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/hashicorp/cli"
)

// Commands returns the factory for every client subcommand, keyed by the
// name typed on the command line; `serf agent` is package agentcmd's,
// which cmd/serf adds, so that this package never reaches the serf
// library. All commands share ui. Commands that wait
// (query, monitor, reachability) end on an interrupt; serf agent handles
// its own signals. There is no help command, as in Serf.
func Commands(ui cli.Ui) map[string]cli.CommandFactory {
	// Made when the first waiting command is built, and only once.
	return commands(ui, sync.OnceValue(interrupted))
}

// commands is Commands with the interrupt channel's maker given, so that
// tests can hand the waiting commands their own.
func commands(ui cli.Ui, interrupt func() <-chan struct{}) map[string]cli.CommandFactory {
	// rpc makes the factory of a command that talks to an agent; a waiting
	// one gets the interrupt channel.
	rpc := func(synopsis, help, flagSet string, setup setupFunc, waits bool) cli.CommandFactory {
		return func() (cli.Command, error) {
			c := &rpcCommand{env: env{ui: ui, help: strings.TrimSpace(help)}, synopsis: synopsis, flagSet: flagSet, setup: setup}
			if waits {
				c.interrupt = interrupt()
			}
			return c, nil
		}
	}
	// The flag set names are Serf's, some of them another command's; they
	// show only in the flag package's messages.
	return map[string]cli.CommandFactory{
		"event":        rpc("Send a custom event through the Serf cluster", eventHelp, "event", eventSetup, false),
		"force-leave":  rpc(`Forces a member of the cluster to enter the "left" state`, forceLeaveHelp, "join", forceLeaveSetup, false),
		"info":         rpc("Provides debugging information for operators", infoHelp, "info", infoSetup, false),
		"join":         rpc("Tell Serf agent to join cluster", joinHelp, "join", joinSetup, false),
		"keys":         rpc("Manipulate the internal encryption keyring used by Serf", keysHelp, "key", keysSetup, false),
		"leave":        rpc("Gracefully leaves the Serf cluster and shuts down", leaveHelp, "leave", leaveSetup, false),
		"members":      rpc("Lists the members of a Serf cluster", membersHelp, "members", membersSetup, false),
		"monitor":      rpc("Stream logs from a Serf agent", monitorHelp, "monitor", monitorSetup, true),
		"query":        rpc("Send a query to the Serf cluster", queryHelp, "event", querySetup, true),
		"reachability": rpc("Test network reachability", reachabilityHelp, "reachability", reachabilitySetup, true),
		"rtt":          rpc("Estimates network round trip time between nodes", rttHelp, "rtt", rttSetup, false),
		"tags":         rpc("Modify tags of a running Serf agent", tagsHelp, "tags", tagsSetup, false),
		"keygen":       func() (cli.Command, error) { return &KeygenCommand{UI: ui}, nil },
		"version":      func() (cli.Command, error) { return &VersionCommand{UI: ui}, nil },
	}
}

// rpcCommand is every command that talks to a running agent: the frame
// they share, with what differs, the flags and the work, made by setup.
// Run makes the flag set, with -rpc-addr and -rpc-auth (rpcFlags) ahead
// of the command's own, parses the arguments and hands what is left to the
// work. -h or a bad flag prints the help and exits 1, as in Serf.
type rpcCommand struct {
	env
	synopsis string
	flagSet  string // the flag set's name
	setup    setupFunc
}

// setupFunc declares a command's own flags on f, whose -rpc-addr and
// -rpc-auth are bound to r, and returns the work, which runs once f has
// parsed the command line and may read those flags' values and call r.
type setupFunc func(f *flag.FlagSet, r *rpcFlags) workFunc

// workFunc is a command's work: given the arguments left after the flags,
// it reports with e.ui and returns the exit code.
type workFunc func(e *env, args []string) int

// env is what a command's work has besides its flags.
type env struct {
	ui   cli.Ui
	help string // the command's help, trimmed
	// interrupt is closed at the first SIGINT, which ends the commands
	// that wait; nil, it never is.
	interrupt <-chan struct{}
}

// usage prints msg, an empty line and the help: Serf's answer to wrong
// arguments. It returns the exit code 1.
func (e *env) usage(msg string) int { return usageError(e.ui, msg, e.help) }

func (c *rpcCommand) Synopsis() string { return c.synopsis }
func (c *rpcCommand) Help() string     { return c.help }

func (c *rpcCommand) Run(args []string) int {
	f, work := c.flags()
	if f.Parse(args) != nil {
		return 1
	}
	return work(&c.env, f.Args())
}

// flags makes the command's flag set and its work, bound to each other.
func (c *rpcCommand) flags() (*flag.FlagSet, workFunc) {
	r := new(rpcFlags)
	f := r.flagSet(c.flagSet, c.ui, c.help)
	return f, c.setup(f, r)
}

// interrupted returns a channel closed at the first SIGINT. The CLI runs
// one command per process, so the watcher lives as long as the process.
func interrupted() <-chan struct{} {
	ch := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	go func() {
		<-sig
		close(ch)
	}()
	return ch
}

// receiveBoth hands every value of a to onA and of b to onB, in the order
// they come, until both channels are closed; the one closing first does
// not cut off what the other still holds. It returns false, leaving the
// rest unread, if stop is closed first.
func receiveBoth[A, B any](a <-chan A, b <-chan B, stop <-chan struct{}, onA func(A), onB func(B)) bool {
	for a != nil || b != nil {
		select {
		case v, ok := <-a:
			if !ok {
				a = nil
				continue
			}
			onA(v)
		case v, ok := <-b:
			if !ok {
				b = nil
				continue
			}
			onB(v)
		case <-stop:
			return false
		}
	}
	return true
}
