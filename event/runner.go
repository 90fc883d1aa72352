package event

import (
	"log"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/serf"
)

const (
	// DefaultQueueDepth is how many events may wait for one handler.
	DefaultQueueDepth = 128

	// DefaultSlowThreshold is how long a script runs before it is logged
	// as slow: Serf's one second.
	DefaultSlowThreshold = time.Second
)

// RunnerConfig configures a Runner. NewRunner copies it.
type RunnerConfig struct {
	// Logger receives "[LEVEL] agent: ..." lines. Nil logs to stderr with
	// the standard flags, as Serf's handler does without a logger.
	Logger *log.Logger

	// Self returns the local member, whose name and tags scripts get in
	// their environment. It is called once per script run, so a tag
	// changed at run time shows in the next run. Nil gives an empty
	// member.
	Self func() serf.Member

	// Specs are the handlers to start with; Update replaces them.
	Specs []Spec

	// QueueDepth is how many events may wait for each handler, not
	// counting the one it is running. An event for a full queue is
	// dropped (see Runner.Dropped). Zero or less means
	// DefaultQueueDepth.
	QueueDepth int

	// Shell is the command and arguments a script is appended to. Nil
	// means Serf's "/bin/sh -c" ("cmd /C" on Windows).
	Shell []string

	// Timeout is how long a script may run before its process group is
	// killed; the run then counts as failed. Zero or less means no limit,
	// as in Serf. It is the only thing that kills a script: it applies
	// while the Runner runs, and a script still running at Shutdown is
	// left to finish, timed no more.
	Timeout time.Duration

	// SlowThreshold is how long a script runs before a warning that it
	// is slow (it keeps running). Zero or less means
	// DefaultSlowThreshold.
	SlowThreshold time.Duration

	// Metrics receives the Runner's metrics (agent.invoke.<script>,
	// agent.event_handler.dropped). Nil means go-metrics' global
	// instance, as of NewRunner.
	Metrics *metrics.Metrics

	// MetricLabels are added to every metric the Runner reports; the
	// agent passes the node's (serf.Config.MetricLabels).
	MetricLabels []metrics.Label
}

// Runner runs event-handler scripts off the gossip path. Every Spec has
// its own worker goroutine and bounded queue: Handle only enqueues, a
// handler runs its events one at a time in the order they came, and a
// slow or hung script delays only its own handler's events.
type Runner struct {
	logger        *log.Logger
	metrics       *metrics.Metrics
	labels        []metrics.Label
	self          func() serf.Member
	depth         int
	shell         []string
	timeout       time.Duration
	slowThreshold time.Duration

	dropped atomic.Uint64

	// stopCh is closed by Shutdown: running scripts are left to run on,
	// no longer waited for.
	stopCh chan struct{}
	// wg counts the workers. Add only while holding lock and not
	// shutdown, so that Shutdown's Wait sees every worker.
	wg sync.WaitGroup

	lock sync.Mutex
	// handlers is replaced, never changed in place, so a copy of the
	// slice may be read without lock.
	handlers []*handler // guarded by lock
	shutdown bool       // guarded by lock
}

// handler is one Spec with its queue and worker.
type handler struct {
	spec  Spec
	depth int

	lock    sync.Mutex
	queue   []job // guarded by lock; at most depth long
	stopped bool  // guarded by lock
	// shutdown is set with stopped when the Runner shut down rather
	// than Update removing the handler. Guarded by lock.
	shutdown bool

	// wakeCh tells the worker the queue has grown. Buffered, so a wake-up
	// is never lost and the sender never waits.
	wakeCh chan struct{}
	// stopCh is closed when the handler is removed or the Runner shuts
	// down: the worker finishes its current script and exits.
	stopCh chan struct{}
	// doneCh is closed when the worker has exited.
	doneCh chan struct{}
}

// job is one event for one handler. For a query, answer collects the
// outputs of every handler it matched and slot is this handler's place
// among them; for other events answer is nil.
type job struct {
	event  serf.Event
	answer *answer
	slot   int
}

// NewRunner returns a Runner with cfg's handlers started. It never fails:
// out-of-range settings mean their defaults.
func NewRunner(cfg RunnerConfig) *Runner {
	r := &Runner{
		logger:        cfg.Logger,
		metrics:       cfg.Metrics,
		labels:        slices.Clone(cfg.MetricLabels),
		self:          cfg.Self,
		depth:         cfg.QueueDepth,
		shell:         slices.Clone(cfg.Shell),
		timeout:       max(cfg.Timeout, 0),
		slowThreshold: cfg.SlowThreshold,
		stopCh:        make(chan struct{}),
	}
	if r.logger == nil {
		r.logger = log.New(os.Stderr, "", log.LstdFlags)
	}
	if r.metrics == nil {
		r.metrics = metrics.Default()
	}
	if r.self == nil {
		r.self = func() serf.Member { return serf.Member{} }
	}
	if r.depth <= 0 {
		r.depth = DefaultQueueDepth
	}
	if len(r.shell) == 0 {
		r.shell = defaultShell()
	}
	if r.slowThreshold <= 0 {
		r.slowThreshold = DefaultSlowThreshold
	}
	r.Update(cfg.Specs)
	return r
}

// Handle queues e for every handler whose Spec matches it. It never
// blocks on a script: an event for a handler whose queue is full is
// dropped, logged, and counted in Dropped and the
// agent.event_handler.dropped metric. After Shutdown it does nothing.
// Safe for concurrent use; events handed in by one goroutine reach each
// handler in that order.
//
// A query's response is the output of the first matching handler, in
// configuration order, that exits 0 and prints anything, whatever order
// the handlers finish in (see answer).
func (r *Runner) Handle(e serf.Event) {
	r.lock.Lock()
	handlers, shutdown := r.handlers, r.shutdown
	r.lock.Unlock()
	if shutdown {
		return
	}
	var matched []*handler
	for _, h := range handlers {
		if h.spec.Matches(e) {
			matched = append(matched, h)
		}
	}
	var ans *answer
	if q, ok := e.(responder); ok && e.EventType() == serf.EventQuery {
		ans = newAnswer(q, e.String(), len(matched), r.logger)
	}
	for i, h := range matched {
		if h.enqueue(job{event: e, answer: ans, slot: i}) {
			continue
		}
		// A handler that never runs the query answers nothing, so
		// the handlers after it may.
		ans.finish(i, nil)
		r.dropped.Add(1)
		r.metrics.IncrCounterWithLabels([]string{"agent", "event_handler", "dropped"}, 1, r.labels)
		r.logger.Printf("[WARN] agent: Event handler queue full for '%s', dropping event %s", h.spec.Script, e)
	}
}

// Dropped is how many events were dropped because a handler's queue was
// full, since NewRunner.
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// QueueLen is one handler's queue: its spec and the events waiting in it,
// not counting the one its script is running for.
type QueueLen struct {
	Spec Spec
	Len  int
}

// Queues returns the length of every handler's queue, in handler order,
// for the agent's metrics. It takes each handler's lock only briefly.
func (r *Runner) Queues() []QueueLen {
	r.lock.Lock()
	handlers := slices.Clone(r.handlers)
	r.lock.Unlock()
	out := make([]QueueLen, len(handlers))
	for i, h := range handlers {
		h.lock.Lock()
		out[i] = QueueLen{Spec: h.spec, Len: len(h.queue)}
		h.lock.Unlock()
	}
	return out
}

// Specs returns the handlers in use, in order.
func (r *Runner) Specs() []Spec {
	r.lock.Lock()
	defer r.lock.Unlock()
	specs := make([]Spec, len(r.handlers))
	for i, h := range r.handlers {
		specs[i] = h.spec
	}
	return specs
}

// Update replaces the handlers with specs at once, as SIGHUP does: every
// event handed to Handle after Update returns goes to the new ones. A
// Spec in both the old and the new list keeps its handler, queue and
// worker (a Spec listed twice is two handlers, matched one for one). A
// removed handler drops its queue and stops after the script it is
// running, if any, which is not waited for. Update does not validate
// specs, nor does Serf on SIGHUP: one that is not Valid matches by
// Spec.Matches, which for an unknown Event is never. After Shutdown,
// Update does nothing.
func (r *Runner) Update(specs []Spec) {
	r.lock.Lock()
	if r.shutdown {
		r.lock.Unlock()
		return
	}
	old := make(map[Spec][]*handler, len(r.handlers))
	for _, h := range r.handlers {
		old[h.spec] = append(old[h.spec], h)
	}
	handlers := make([]*handler, 0, len(specs))
	for _, spec := range specs {
		if kept := old[spec]; len(kept) > 0 {
			handlers = append(handlers, kept[0])
			old[spec] = kept[1:]
			continue
		}
		h := newHandler(spec, r.depth)
		handlers = append(handlers, h)
		r.wg.Add(1)
		go r.work(h)
	}
	r.handlers = handlers
	r.lock.Unlock()

	for _, removed := range old {
		for _, h := range removed {
			h.stop(false)
		}
	}
}

// Shutdown stops every handler, drops the events still queued, and
// returns when every goroutine of the Runner has exited. It does not
// kill the scripts still running, nor wait for them: as in Serf, whose
// agent exits while its event loop waits on a script, each one runs on
// to its end, and no handler after it answers its query. Nothing times
// them any more, and their exit status is not collected (the system
// reaps them once this process has exited). On Unix the read end of each
// one's output pipe stays open, unread, until this process exits, so
// that a script writing to stdout or stderr is not stopped by a broken
// pipe while the agent is still there (only up to the pipe's capacity,
// as nothing reads). It is idempotent.
func (r *Runner) Shutdown() {
	r.lock.Lock()
	first := !r.shutdown
	r.shutdown = true
	handlers := r.handlers
	r.handlers = nil
	r.lock.Unlock()

	if first {
		// Queues first: a worker that detaches from its script must
		// find its handler stopped, not start the next event.
		for _, h := range handlers {
			h.stop(true)
		}
		close(r.stopCh)
	}
	r.wg.Wait()
}

// work is a handler's worker: it runs the queued events one at a time
// until the handler stops.
func (r *Runner) work(h *handler) {
	defer r.wg.Done()
	defer close(h.doneCh)
	for {
		j, ok := h.next()
		if !ok {
			return
		}
		r.invoke(h.spec.Script, j)
	}
}

func newHandler(spec Spec, depth int) *handler {
	return &handler{
		spec:   spec,
		depth:  depth,
		wakeCh: make(chan struct{}, 1),
		stopCh: make(chan struct{}),
		doneCh: make(chan struct{}),
	}
}

// enqueue adds j to the queue and reports false if it is full. An event
// for a stopped handler is dropped without a word, as if it had been
// queued and dropped with the queue (see stop): it raced with the Update
// or Shutdown that stopped the handler. Never blocks.
func (h *handler) enqueue(j job) bool {
	h.lock.Lock()
	if h.stopped {
		shutdown := h.shutdown
		h.lock.Unlock()
		h.drop(j, shutdown)
		return true
	}
	if len(h.queue) >= h.depth {
		h.lock.Unlock()
		return false
	}
	h.queue = append(h.queue, j)
	h.lock.Unlock()

	select {
	case h.wakeCh <- struct{}{}:
	default: // a wake-up is already pending
	}
	return true
}

// next waits for the oldest queued event; false means the handler has
// stopped.
func (h *handler) next() (job, bool) {
	for {
		h.lock.Lock()
		if h.stopped {
			h.lock.Unlock()
			return job{}, false
		}
		if len(h.queue) > 0 {
			j := h.queue[0]
			h.queue[0] = job{} // let it be collected
			h.queue = h.queue[1:]
			h.lock.Unlock()
			return j, true
		}
		h.lock.Unlock()

		select {
		case <-h.wakeCh:
		case <-h.stopCh:
		}
	}
}

// stop drops the queue and tells the worker to exit. A query dropped
// from the queue of a handler removed by Update goes to the handlers
// after it; at Shutdown (shutdown true) it is abandoned, and no handler
// answers it any more. It is idempotent.
func (h *handler) stop(shutdown bool) {
	h.lock.Lock()
	if h.stopped {
		h.lock.Unlock()
		return
	}
	h.stopped, h.shutdown = true, shutdown
	dropped := h.queue
	h.queue = nil
	h.lock.Unlock()
	close(h.stopCh)
	for _, j := range dropped {
		h.drop(j, shutdown)
	}
}

// drop settles the part of a job that is not run in its query's answer.
func (h *handler) drop(j job, shutdown bool) {
	if shutdown {
		j.answer.abandon(j.slot)
	} else {
		j.answer.finish(j.slot, nil)
	}
}
