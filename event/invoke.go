package event

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/serf"
)

const (
	// outputLimit is how much of a script's output is kept: the last
	// 8 KiB of stdout and stderr together, as Serf keeps.
	outputLimit = 8 * 1024

	// killGrace is how long output is still read after a kill, for the
	// killed processes' ends of the pipe to close. Past it, whatever
	// still holds the pipe (a process that left the group) is ignored.
	killGrace = 500 * time.Millisecond
)

// responder is what a query handler answers through: *serf.Query.
type responder interface {
	Respond([]byte) error
}

// invoke runs script once for e and logs the outcome with Serf's lines:
// the output at DEBUG, a failure at ERR, and (beyond Serf) the output of
// a failed script again at WARN, so that failures show at the default
// log level. The output of a query handler that exits 0 and writes
// anything is the node's response to the query. Called by a handler's
// worker only.
func (r *Runner) invoke(script string, e serf.Event) {
	defer metrics.MeasureSince([]string{"agent", "invoke", script}, time.Now())

	in, err := inputFor(r.self(), e)
	if err != nil {
		r.logger.Printf("[ERR] agent: Error invoking script '%s': %v", script, err)
		return
	}
	output, started, err := r.execute(script, in)
	typ := e.EventType().String()
	if started {
		r.logger.Printf("[DEBUG] agent: Event '%s' script output: %s", typ, output)
	}
	if err != nil {
		r.logger.Printf("[ERR] agent: Error invoking script '%s': %v", script, err)
		if started {
			r.logger.Printf("[WARN] agent: Event '%s' script '%s' output: %s", typ, script, output)
		}
		return
	}
	if q, ok := e.(responder); ok && e.EventType() == serf.EventQuery && len(output) > 0 {
		if err := q.Respond(output); err != nil {
			r.logger.Printf("[WARN] agent: Failed to respond to query '%s': %v", e, err)
		}
	}
}

// execute runs script with the shell and returns the tail of its output,
// whether it started, and its exit error. It returns once the script has
// exited and its output pipe is closed, as Serf waits, so a process the
// script leaves behind holding the output holds up the handler, unless
// the Runner's Timeout passes or it shuts down: then the script's process
// group is killed and its output read for killGrace more at most.
//
// It owns three goroutines and waits for all of them: one feeds stdin,
// one copies the output, one waits for the script's exit.
func (r *Runner) execute(script string, in scriptInput) (output []byte, started bool, err error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, false, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, false, err
	}

	args := append(slices.Clone(r.shell[1:]), script)
	cmd := exec.Command(r.shell[0], args...)
	cmd.Env = append(os.Environ(), in.env...)
	cmd.Stdin = stdinR
	cmd.Stdout = outW
	cmd.Stderr = outW
	newProcessGroup(cmd)
	err = cmd.Start()
	// The script has its own copies of these ends now; ours would keep
	// the pipes from reaching EOF.
	stdinR.Close()
	outW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		return nil, false, err
	}
	defer outR.Close()

	var wg sync.WaitGroup
	defer wg.Wait()
	exitCh := make(chan error, 1)
	outDoneCh := make(chan struct{})
	buf := newTailBuffer(outputLimit)
	wg.Go(func() {
		defer stdinW.Close()
		// A script need not read its input: EPIPE, or the deadline set
		// at the end, is no failure.
		_, _ = stdinW.Write(in.stdin)
	})
	wg.Go(func() {
		defer close(outDoneCh)
		_, _ = io.Copy(buf, outR)
	})
	wg.Go(func() { exitCh <- cmd.Wait() })

	slow := time.NewTimer(r.slowThreshold)
	defer slow.Stop()
	var timeoutC <-chan time.Time
	if r.timeout > 0 {
		t := time.NewTimer(r.timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	stopCh := r.stopCh
	var graceC <-chan time.Time
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		if err := killGroup(cmd); err != nil && !errors.Is(err, syscall.ESRCH) {
			r.logger.Printf("[ERR] agent: Failed to kill script '%s': %v", script, err)
		}
		graceC = time.After(killGrace)
	}

	exitC, outDoneC := (<-chan error)(exitCh), (<-chan struct{})(outDoneCh)
	for exitC != nil || outDoneC != nil {
		select {
		case err = <-exitC:
			exitC = nil
		case <-outDoneC:
			outDoneC = nil
		case <-slow.C:
			r.logger.Printf("[WARN] agent: Script '%s' slow, execution exceeding %v", script, r.slowThreshold)
		case <-timeoutC:
			timeoutC = nil
			r.logger.Printf("[WARN] agent: Script '%s' killed after %v", script, r.timeout)
			kill()
		case <-stopCh:
			stopCh = nil
			r.logger.Printf("[WARN] agent: Script '%s' killed: event handlers shutting down", script)
			kill()
		case <-graceC:
			graceC = nil
			abandon(outR)
		}
	}
	// As exec's StdinPipe once the output is in: input not read by now is
	// dropped, so that nothing left behind holds up the writer.
	_ = stdinW.SetWriteDeadline(time.Now())
	return buf.Bytes(), true, err
}

// abandon stops the reading of a script's output.
func abandon(f *os.File) {
	if err := f.SetReadDeadline(time.Now()); err != nil {
		// Not pollable (Windows): closing is the only way left.
		f.Close()
	}
}
