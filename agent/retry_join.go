package agent

import (
	"context"
	"slices"
	"sync"
	"time"
)

// retryJoin is the retry join of an agent whose StartRetryJoin was
// called. It has one run at a time: StartRetryJoin starts the first, and
// a reload that changes the retry settings stops it and starts another.
type retryJoin struct {
	failedCh chan struct{} // closed when a run used up retry_max_attempts
	failOnce sync.Once
	run      *retryRun // guarded by the agent's goLock; nil when none was started
}

// retryRun is one run of the retry join: it joins its addresses every
// interval until a join works, it gives up or it is cancelled.
type retryRun struct {
	cancel context.CancelFunc // ends the run, cutting its SRV lookups short
	done   chan struct{}      // closed when the run has returned
}

// retrySettings are the keys a retry run is made from; a reload that
// changes one of them starts the retry join afresh.
type retrySettings struct {
	addrs       []string
	interval    time.Duration
	maxAttempts int // 0 is no limit
	replay      bool
}

// retrySettingsOf reads the retry settings from conf.
func retrySettingsOf(conf *Config) retrySettings {
	s := retrySettings{
		addrs:    slices.Clone(conf.RetryJoin),
		interval: conf.RetryInterval(),
		replay:   isTrue(conf.ReplayOnJoin),
	}
	if conf.RetryMaxAttempts != nil {
		s.maxAttempts = *conf.RetryMaxAttempts
	}
	return s
}

// restartsRun reports whether going from s to next takes a new run:
// replay_on_join alone does not.
func (s retrySettings) restartsRun(next retrySettings) bool {
	return !slices.Equal(s.addrs, next.addrs) || s.interval != next.interval || s.maxAttempts != next.maxAttempts
}

// StartRetryJoin starts joining the configuration's retry_join addresses
// in the background, every retry_interval until a join works or
// retry_max_attempts more attempts have failed; RetryJoinFailedCh is then
// closed. Names are resolved again at every attempt (see Join). `serf
// agent` starts it once its banner is out. It does nothing in an agent
// made by Create, on a second call, or once Shutdown has begun; without
// retry_join it starts nothing until a reload sets one (Reload). Shutdown
// stops it, waiting for a join under way.
func (a *Agent) StartRetryJoin() {
	// Reload replaces conf under reloadLock.
	a.reloadLock.Lock()
	defer a.reloadLock.Unlock()
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.closing || a.retry != nil || a.conf == nil {
		return
	}
	a.retry = &retryJoin{failedCh: make(chan struct{})}
	a.startRetryRun(retrySettingsOf(a.conf))
}

// RetryJoinFailedCh is closed when the retry join has given up (`serf
// agent` then exits 1). It is never closed before StartRetryJoin, nor in
// an agent whose retry join was not started. It stays the same channel
// across the runs that reloads start.
func (a *Agent) RetryJoinFailedCh() <-chan struct{} {
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.retry == nil {
		return nil
	}
	return a.retry.failedCh
}

// startRetryRun starts a run with s, unless s has no addresses, in a
// goroutine Shutdown waits for. The caller holds goLock, has checked that
// Shutdown has not begun, and has stopped the previous run.
func (a *Agent) startRetryRun(s retrySettings) {
	if len(s.addrs) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &retryRun{cancel: cancel, done: make(chan struct{})}
	r := a.retry
	r.run = run
	a.wg.Go(func() {
		defer close(run.done)
		defer cancel()
		if a.retryLoop(ctx, s) {
			r.failOnce.Do(func() { close(r.failedCh) })
		}
	})
}

// stopRetryRun ends the retry run, if one runs, and waits for it, a join
// under way included. The caller must not hold goLock.
func (a *Agent) stopRetryRun() {
	a.goLock.Lock()
	var run *retryRun
	if a.retry != nil {
		run, a.retry.run = a.retry.run, nil
	}
	a.goLock.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
}

// reloadRetryJoin applies a reload's retry settings (Reload, under
// reloadLock): when they differ from was, the run going on, if any, is
// stopped, and a new one starts with the new settings unless retry_join
// is now empty. Before StartRetryJoin there is nothing to do: it reads
// the configuration in force when it is called.
func (a *Agent) reloadRetryJoin(was, now retrySettings) {
	if !was.restartsRun(now) {
		return
	}
	a.goLock.Lock()
	started := a.retry != nil && !a.closing
	a.goLock.Unlock()
	if !started {
		return
	}
	a.stopRetryRun()
	a.goLock.Lock()
	if a.closing {
		a.goLock.Unlock()
		return
	}
	a.startRetryRun(now)
	a.goLock.Unlock()
	if len(now.addrs) == 0 {
		a.logger.Printf("[INFO] agent: Reload emptied retry_join; the retry join is stopped")
		return
	}
	a.logger.Printf("[INFO] agent: Reload changed the retry join settings; retrying the join with %q", now.addrs)
}

// retryLoop is a run's goroutine: it tries to join s.addrs until a join
// works, s.maxAttempts retries have failed, or ctx is cancelled. It
// reports whether it gave up.
func (a *Agent) retryLoop(ctx context.Context, s retrySettings) bool {
	for attempt := 1; ; attempt++ {
		a.logger.Printf("[INFO] agent: Joining cluster...(replay: %v)", s.replay)
		n, err := a.join(ctx, s.addrs, s.replay)
		if err == nil {
			a.logger.Printf("[INFO] agent: Join completed. Synced with %d initial agents", n)
			a.readiness.joined.Store(true)
			return false
		}
		if ctx.Err() != nil {
			return false // stopped during the attempt
		}
		if s.maxAttempts > 0 && attempt > s.maxAttempts {
			a.logger.Printf("[ERR] agent: maximum retry join attempts made, exiting")
			return true
		}
		a.logger.Printf("[WARN] agent: Join failed: %v, retrying in %v", err, s.interval)
		t := time.NewTimer(s.interval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}
