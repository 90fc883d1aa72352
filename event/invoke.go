package event

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	metrics "github.com/hashicorp/go-metrics"
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

// outcome is how one run of a script went.
type outcome struct {
	output  []byte // the tail of stdout and stderr together
	started bool   // whether the script was started at all
	// detached: the Runner shut down while the script ran, and left it
	// running; output is what it printed until then.
	detached bool
	err      error // the start or exit error
}

// invoke runs script once for j's event and logs the outcome with Serf's
// lines: the output at DEBUG, a failure at ERR, and (beyond Serf) the
// output of a failed script again at WARN, so that failures show at the
// default log level. For a query, the output of a script that exits 0
// and writes anything goes to the query's answer, which responds with it
// in turn. Called by a handler's worker only.
func (r *Runner) invoke(script string, j job) {
	start := time.Now()
	defer r.metrics.MeasureSinceWithLabels([]string{"agent", "invoke", script}, start, r.labels)

	e := j.event
	in, err := inputFor(r.self(), e)
	if err != nil {
		r.logger.Printf("[ERR] agent: Error invoking script '%s': %v", script, err)
		j.answer.finish(j.slot, nil)
		return
	}
	res := r.execute(script, in)
	r.countRun(e.EventType().String(), res, start)
	if res.detached {
		r.logger.Printf("[INFO] agent: Script '%s' still running at shutdown, left to run to its end", script)
		j.answer.abandon(j.slot)
		return
	}
	typ := e.EventType().String()
	if res.started {
		r.logger.Printf("[DEBUG] agent: Event '%s' script output: %s", typ, res.output)
	}
	if res.err != nil {
		r.logger.Printf("[ERR] agent: Error invoking script '%s': %v", script, res.err)
		if res.started {
			r.logger.Printf("[WARN] agent: Event '%s' script '%s' output: %s", typ, script, res.output)
		}
		j.answer.finish(j.slot, nil)
		return
	}
	j.answer.finish(j.slot, res.output)
}

// countRun reports one run of a script for an event of type typ: the
// agent.event_handler.runs counter, labelled with the event type and how
// the run ended (exit status, "signal", "not_started" or "detached"),
// and the agent.event_handler.duration sample, labelled with the type.
func (r *Runner) countRun(typ string, res outcome, start time.Time) {
	status := "0"
	var exitErr *exec.ExitError
	switch {
	case res.detached:
		status = "detached"
	case !res.started:
		status = "not_started"
	case errors.As(res.err, &exitErr):
		if code := exitErr.ExitCode(); code >= 0 {
			status = strconv.Itoa(code)
		} else {
			status = "signal"
		}
	case res.err != nil:
		status = "error"
	}
	labels := append(slices.Clone(r.labels), metrics.Label{Name: "event", Value: typ})
	r.metrics.MeasureSinceWithLabels([]string{"agent", "event_handler", "duration"}, start, labels)
	labels = append(labels, metrics.Label{Name: "status", Value: status})
	r.metrics.IncrCounterWithLabels([]string{"agent", "event_handler", "runs"}, 1, labels)
}

// execute runs script with the shell. It returns once the script has
// exited and its output pipe is closed, as Serf waits, so a process the
// script leaves behind holding the output holds up the handler, unless
// the Runner's Timeout passes (then the script's process group is killed
// and its output read for killGrace more at most) or the Runner shuts
// down: then execute detaches from the script and returns at once,
// leaving it running (see scriptRun.detach).
func (r *Runner) execute(script string, in scriptInput) outcome {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return outcome{err: err}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return outcome{err: err}
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
		return outcome{err: err}
	}
	run := &scriptRun{
		script:    script,
		cmd:       cmd,
		stdinW:    stdinW,
		outR:      outR,
		buf:       newTailBuffer(outputLimit),
		exitCh:    make(chan error, 1),
		outDoneCh: make(chan struct{}),
	}
	run.start(in.stdin, in.payload, r.logger)
	return r.await(run)
}

// scriptRun is one started script and the goroutines that serve it. It
// owns three: one feeds stdin, one copies the output, one waits for the
// script's exit, and it waits for all of them before its run is over.
// Where the system gives no way to stop waiting for a process (watchExit
// fails), the last has no owner: when the Runner detaches from the
// script it is left behind, and ends with the script.
type scriptRun struct {
	script string
	cmd    *exec.Cmd
	stdinW *os.File // our end of the script's stdin
	outR   *os.File // our end of its stdout and stderr
	buf    *tailBuffer

	watch *exitWatch // nil if the exit is waited for without an owner
	wg    sync.WaitGroup

	exitCh    chan error    // the exit error, once the script has exited
	outDoneCh chan struct{} // closed when the copy of the output has ended
	copyErr   error         // why the copy ended; set before outDoneCh is closed
}

// start starts the goroutines.
func (s *scriptRun) start(stdin []byte, payload bool, logger *log.Logger) {
	s.wg.Go(func() {
		defer s.stdinW.Close()
		// A script need not read its input. When it exits without
		// reading a payload the write fails (EPIPE), and Serf logs that;
		// the deadline await sets once the script is done is ours, and
		// no failure.
		_, err := s.stdinW.Write(stdin)
		if err != nil && payload && !errors.Is(err, os.ErrDeadlineExceeded) {
			logger.Printf("[ERR] Error writing payload: %s", err)
		}
	})
	s.wg.Go(func() {
		defer close(s.outDoneCh)
		_, s.copyErr = io.Copy(s.buf, s.outR)
	})
	watch, err := watchExit(s.cmd.Process)
	if err != nil {
		go func() { s.exitCh <- s.cmd.Wait() }()
		return
	}
	s.watch = watch
	s.wg.Go(func() {
		switch err := watch.wait(); {
		case err == nil:
			s.exitCh <- s.cmd.Wait()
		case !errors.Is(err, errWatchStopped):
			// Not seen to exit: the run ends with this error and
			// the script is left to itself, as at Shutdown.
			s.exitCh <- fmt.Errorf("waiting for the script: %w", err)
		}
	})
}

// await waits for the end of run, or for the timeout (which kills it),
// or for Shutdown (which detaches from it), and logs a slow script.
func (r *Runner) await(run *scriptRun) outcome {
	slow := time.NewTimer(r.slowThreshold)
	defer slow.Stop()
	var timeoutC <-chan time.Time
	if r.timeout > 0 {
		t := time.NewTimer(r.timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	var graceC <-chan time.Time
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		if err := killGroup(run.cmd); err != nil && !errors.Is(err, syscall.ESRCH) {
			r.logger.Printf("[ERR] agent: Failed to kill script '%s': %v", run.script, err)
		}
		graceC = time.After(killGrace)
	}

	var err error
	exitC, outDoneC := (<-chan error)(run.exitCh), (<-chan struct{})(run.outDoneCh)
	for exitC != nil || outDoneC != nil {
		select {
		case err = <-exitC:
			exitC = nil
		case <-outDoneC:
			outDoneC = nil
		case <-slow.C:
			r.logger.Printf("[WARN] agent: Script '%s' slow, execution exceeding %v", run.script, r.slowThreshold)
		case <-timeoutC:
			timeoutC = nil
			r.logger.Printf("[WARN] agent: Script '%s' killed after %v", run.script, r.timeout)
			kill()
		case <-r.stopCh:
			return run.detach(exitC == nil, err)
		case <-graceC:
			graceC = nil
			abandon(run.outR)
		}
	}
	// As exec's StdinPipe once the output is in: input not read by now is
	// dropped, so that nothing left behind holds up the writer.
	_ = run.stdinW.SetWriteDeadline(time.Now())
	run.wg.Wait()
	run.outR.Close()
	if run.watch != nil {
		run.watch.close()
	}
	return outcome{output: run.buf.Bytes(), started: true, err: err}
}

// detach stops the run's goroutines without harm to the script, which
// runs on, and returns the outcome: detached, unless the script turns
// out to have just finished. exited and exitErr say whether await has
// seen it exit already, and how.
//
// The input the script has not read yet is cut short: it reads what is
// in the pipe, then end of file, as in Serf once the agent is gone. The
// read end of its output pipe, unless the pipe is closed already, is kept
// open (see keepOpen), so that the script's writes do not fail while
// this process lives. The process is released, not waited for.
func (s *scriptRun) detach(exited bool, exitErr error) outcome {
	_ = s.stdinW.SetWriteDeadline(time.Now())
	abandon(s.outR)
	if s.watch != nil {
		s.watch.stop()
	}
	s.wg.Wait()
	if s.watch != nil {
		s.watch.close()
		if !exited {
			select {
			case exitErr = <-s.exitCh:
				exited = true
			default:
			}
		}
	}

	outOpen := errors.Is(s.copyErr, os.ErrDeadlineExceeded)
	if exited && !outOpen {
		// It ended as the Runner shut down: a run like any other.
		s.outR.Close()
		return outcome{output: s.buf.Bytes(), started: true, err: exitErr}
	}
	if outOpen {
		keepOpen(s.outR)
	} else {
		s.outR.Close()
	}
	if s.watch != nil && !exited {
		// Without a watch, the goroutine waiting for the exit still
		// uses the process.
		_ = s.cmd.Process.Release()
	}
	return outcome{output: s.buf.Bytes(), started: true, detached: true}
}

// abandon stops the reading of a script's output.
func abandon(f *os.File) {
	if err := f.SetReadDeadline(time.Now()); err != nil {
		// Not pollable (Windows): closing is the only way left.
		f.Close()
	}
}
