package agent

import (
	"sync"
	"time"
)

// retryJoin joins the retry_join addresses in the background until one
// join works, resolving the names again on every attempt.
type retryJoin struct {
	failedCh chan struct{} // closed when retry_max_attempts is used up
	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// StartRetryJoin starts joining the configuration's retry_join addresses
// in the background, every retry_interval until a join works or
// retry_max_attempts more attempts have failed; RetryJoinFailedCh is then
// closed. `serf agent` starts it once its banner is out. It does nothing
// without retry_join, in an agent made by Create, on a second call, or
// once Shutdown has begun; Shutdown stops it, waiting for a join under
// way.
func (a *Agent) StartRetryJoin() {
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.closing || a.retry != nil || a.conf == nil {
		return
	}
	r := &retryJoin{failedCh: make(chan struct{}), stopCh: make(chan struct{})}
	a.retry = r
	if len(a.conf.RetryJoin) == 0 {
		return
	}
	addrs := append([]string(nil), a.conf.RetryJoin...)
	replay := isTrue(a.conf.ReplayOnJoin)
	maxAttempts := 0
	if a.conf.RetryMaxAttempts != nil {
		maxAttempts = *a.conf.RetryMaxAttempts
	}
	interval := a.conf.RetryInterval()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(a, addrs, replay, maxAttempts, interval)
	}()
}

// RetryJoinFailedCh is closed when the retry join has given up (`serf
// agent` then exits 1). It is never closed before StartRetryJoin, nor in
// an agent whose retry join was not started.
func (a *Agent) RetryJoinFailedCh() <-chan struct{} {
	a.goLock.Lock()
	defer a.goLock.Unlock()
	if a.retry == nil {
		return nil
	}
	return a.retry.failedCh
}

func (r *retryJoin) run(a *Agent, addrs []string, replay bool, maxAttempts int, interval time.Duration) {
	for attempt := 1; ; attempt++ {
		a.logger.Printf("[INFO] agent: Joining cluster...(replay: %v)", replay)
		n, err := a.Join(addrs, replay)
		if err == nil {
			a.logger.Printf("[INFO] agent: Join completed. Synced with %d initial agents", n)
			a.readiness.joined.Store(true)
			return
		}
		if maxAttempts > 0 && attempt > maxAttempts {
			a.logger.Printf("[ERR] agent: maximum retry join attempts made, exiting")
			close(r.failedCh)
			return
		}
		a.logger.Printf("[WARN] agent: Join failed: %v, retrying in %v", err, interval)
		t := time.NewTimer(interval)
		select {
		case <-t.C:
		case <-r.stopCh:
			t.Stop()
			return
		}
	}
}

// stop ends the retry join and waits for it, a join under way included.
func (r *retryJoin) stop() {
	r.stopOnce.Do(func() { close(r.stopCh) })
	r.wg.Wait()
}
