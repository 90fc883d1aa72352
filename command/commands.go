package command

import (
	"os"
	"os/signal"
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
	interrupt := sync.OnceValue(interrupted)
	return map[string]cli.CommandFactory{
		"event":        func() (cli.Command, error) { return &EventCommand{UI: ui}, nil },
		"force-leave":  func() (cli.Command, error) { return &ForceLeaveCommand{UI: ui}, nil },
		"info":         func() (cli.Command, error) { return &InfoCommand{UI: ui}, nil },
		"join":         func() (cli.Command, error) { return &JoinCommand{UI: ui}, nil },
		"keygen":       func() (cli.Command, error) { return &KeygenCommand{UI: ui}, nil },
		"keys":         func() (cli.Command, error) { return &KeysCommand{UI: ui}, nil },
		"leave":        func() (cli.Command, error) { return &LeaveCommand{UI: ui}, nil },
		"members":      func() (cli.Command, error) { return &MembersCommand{UI: ui}, nil },
		"monitor":      func() (cli.Command, error) { return &MonitorCommand{UI: ui, ShutdownCh: interrupt()}, nil },
		"query":        func() (cli.Command, error) { return &QueryCommand{UI: ui, ShutdownCh: interrupt()}, nil },
		"reachability": func() (cli.Command, error) { return &ReachabilityCommand{UI: ui, ShutdownCh: interrupt()}, nil },
		"rtt":          func() (cli.Command, error) { return &RTTCommand{UI: ui}, nil },
		"tags":         func() (cli.Command, error) { return &TagsCommand{UI: ui}, nil },
		"version":      func() (cli.Command, error) { return &VersionCommand{UI: ui}, nil },
	}
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
