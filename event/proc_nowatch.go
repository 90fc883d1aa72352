//go:build !linux

package event

import (
	"errors"
	"os"
)

// errWatchStopped is what exitWatch.wait returns after stop.
var errWatchStopped = errors.New("stopped watching the script's exit")

// exitWatch would tell when a script has exited in a way that can be
// stopped. This system has none that this package uses, so watchExit
// always fails and a script's exit is waited for the blocking way: a
// script left running at Shutdown keeps one goroutine of the Runner
// waiting for it until it ends.
type exitWatch struct{}

func watchExit(*os.Process) (*exitWatch, error) { return nil, errors.ErrUnsupported }

func (*exitWatch) wait() error { return errors.ErrUnsupported }
func (*exitWatch) stop()       {}
func (*exitWatch) close()      {}
