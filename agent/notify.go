package agent

import (
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/openserf/serf/serf"
)

// notifyQueueMax bounds the state messages waiting for the notifier's
// goroutine. The queue grows only while a send is stuck on a socket that
// is not read; dropping the oldest then is harmless, as systemd acts on
// the latest state.
const notifyQueueMax = 8

// maxStatusEvent bounds the event name STATUS= shows, in bytes.
const maxStatusEvent = 64

// notifier speaks systemd's notification protocol (sd_notify) for an
// agent made by New, when NOTIFY_SOCKET is set: READY=1 once the agent
// serves (Ready), RELOADING=1 and READY=1 around a reload, STOPPING=1 on
// leave or shutdown, a STATUS= line for `systemctl status` after every
// event, and WATCHDOG=1 every half of WATCHDOG_USEC while Serf runs.
//
// Every datagram goes out from the notifier's one goroutine, which the
// agent starts with the daemon and stops last in Shutdown, after sending
// what is queued. The methods the agent and its event loop call only
// queue and never block: a slow or missing socket delays nobody but that
// goroutine. Status updates coalesce: however many events arrive while a
// send is under way, one STATUS= line follows, showing the latest.
type notifier struct {
	logger *log.Logger
	// status builds the STATUS= text from the last event's name ("" before
	// any); called on the notifier's goroutine only.
	status func(lastEvent string) string
	// healthy is checked before each watchdog ping: a Serf that is down or
	// hung gets no ping, and systemd restarts the agent.
	healthy  func() bool
	watchdog time.Duration // WATCHDOG_USEC; 0 is no watchdog

	lock      sync.Mutex
	queue     []string // state messages not yet sent, oldest first
	statusDue bool     // a STATUS= line is to be sent
	lastEvent string
	stopping  bool // STOPPING=1 is queued or sent

	wakeCh   chan struct{} // 1 slot: there is something to send
	stopCh   chan struct{}
	doneCh   chan struct{}
	stopOnce sync.Once

	failed bool // a send failed and was logged; goroutine only
}

// newNotifier returns a notifier when NOTIFY_SOCKET is set, and nil (the
// agent then sends nothing) when it is not. A WATCHDOG_USEC that does not
// parse is logged and leaves the watchdog off.
func newNotifier(logger *log.Logger, status func(string) string, healthy func() bool) *notifier {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	watchdog, err := sdnotify.SdWatchdogEnabled(false)
	if err != nil {
		logger.Printf("[WARN] agent: ignoring the systemd watchdog: %v", err)
		watchdog = 0
	}
	return &notifier{
		logger:   logger,
		status:   status,
		healthy:  healthy,
		watchdog: watchdog,
		wakeCh:   make(chan struct{}, 1),
		stopCh:   make(chan struct{}),
		doneCh:   make(chan struct{}),
	}
}

// start starts the goroutine that sends; stop ends it.
func (n *notifier) start() {
	go func() {
		defer close(n.doneCh)
		n.run()
	}()
}

// stop queues STOPPING=1 if nothing did yet, sends what is queued and
// waits for the goroutine. It is idempotent; start must have been called.
func (n *notifier) stop() {
	n.stopOnce.Do(func() {
		n.stoppingNow()
		close(n.stopCh)
	})
	<-n.doneCh
}

func (n *notifier) run() {
	var tick <-chan time.Time
	if n.watchdog > 0 {
		t := time.NewTicker(n.watchdog / 2)
		defer t.Stop()
		tick = t.C
		// A first ping at once: the agent may have taken a while to get
		// here.
		n.ping()
	}
	for {
		select {
		case <-n.wakeCh:
			n.flush()
		case <-tick:
			n.ping()
		case <-n.stopCh:
			n.flush()
			return
		}
	}
}

func (n *notifier) ping() {
	if n.healthy() {
		n.send(sdnotify.SdNotifyWatchdog)
	}
}

// flush sends the queued state messages in order, then the status.
func (n *notifier) flush() {
	n.lock.Lock()
	msgs := n.queue
	n.queue = nil
	status, last := n.statusDue, n.lastEvent
	n.statusDue = false
	n.lock.Unlock()
	for _, m := range msgs {
		n.send(m)
	}
	if status {
		n.send("STATUS=" + n.status(last))
	}
}

// send writes one datagram. The first failure is logged, and the next
// once one has worked again.
func (n *notifier) send(msg string) {
	_, err := sdnotify.SdNotify(false, msg)
	if err != nil {
		if !n.failed {
			n.logger.Printf("[WARN] agent: failed to notify systemd: %v", err)
		}
		n.failed = true
		return
	}
	n.failed = false
}

// enqueue adds state messages (and, with status, a STATUS= line after
// them) and wakes the goroutine. It never blocks.
func (n *notifier) enqueue(status bool, msgs ...string) {
	n.lock.Lock()
	n.queue = append(n.queue, msgs...)
	if extra := len(n.queue) - notifyQueueMax; extra > 0 {
		n.queue = append(n.queue[:0], n.queue[extra:]...)
	}
	n.statusDue = n.statusDue || status
	n.lock.Unlock()
	select {
	case n.wakeCh <- struct{}{}:
	default: // already woken; the goroutine will see this too
	}
}

// ready: start-up or a reload is done.
func (n *notifier) ready() { n.enqueue(true, sdnotify.SdNotifyReady) }

// reloading: a reload begins. MONOTONIC_USEC, where the platform has it,
// is what systemd asks to come with it.
func (n *notifier) reloading() {
	msg := sdnotify.SdNotifyReloading
	if usec := monotonicUsec(); usec != "" {
		msg += "\nMONOTONIC_USEC=" + usec
	}
	n.enqueue(false, msg)
}

// stoppingNow: the agent is leaving or shutting down; sent once.
func (n *notifier) stoppingNow() {
	n.lock.Lock()
	first := !n.stopping
	n.stopping = true
	n.lock.Unlock()
	if first {
		n.enqueue(false, sdnotify.SdNotifyStopping)
	}
}

// HandleEvent notes the event for the next STATUS= line. It never blocks.
func (n *notifier) HandleEvent(e serf.Event) {
	name := statusEventName(e)
	n.lock.Lock()
	n.lastEvent = name
	n.lock.Unlock()
	n.enqueue(true)
}

// statusEventName names an event as handler filters do (member-join,
// user:NAME, query:NAME). A user event's or query's name comes from the
// network: it is cut short, and control characters become '?', so that
// it cannot end the STATUS= line and add a field of its own.
func statusEventName(e serf.Event) string {
	var name string
	switch e := e.(type) {
	case serf.UserEvent:
		name = "user:" + e.Name
	case *serf.Query:
		name = "query:" + e.Name
	default:
		name = e.EventType().String()
	}
	if len(name) > maxStatusEvent {
		name = strings.ToValidUTF8(name[:maxStatusEvent], "") + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, name)
}

// notifyStatus is the STATUS= text: the members alive among those that
// have not left, and the last event.
func (a *Agent) notifyStatus(lastEvent string) string {
	alive, known := 0, 0
	for _, m := range a.serf.Members() {
		if m.Status == serf.StatusLeft {
			continue
		}
		known++
		if m.Status == serf.StatusAlive {
			alive++
		}
	}
	s := fmt.Sprintf("alive %d of %d members", alive, known)
	if lastEvent != "" {
		s += "; last event " + lastEvent
	}
	return s
}

// Ready tells systemd, when the agent runs under it as a Type=notify
// service, that the agent is up: READY=1 and a first STATUS= line.
// `serf agent` calls it once Start has returned (the RPC server takes
// connections) and the start join, if any, has worked; the retry join
// goes on in the background, as in Serf, and does not hold it back.
// It also marks the agent started for /v1/health/ready. Without
// NOTIFY_SOCKET, and in an agent made by Create, that is all it does.
func (a *Agent) Ready() {
	a.readiness.started.Store(true)
	if a.notify != nil {
		a.notify.ready()
	}
}
