package agent

import (
	"github.com/openserf/serf/event"
	"github.com/openserf/serf/serf"
)

// EventHandler receives every event the agent gets from Serf, in order.
// HandleEvent must not block: the script runner and RPC streams queue
// the event and return.
type EventHandler interface {
	HandleEvent(serf.Event)
}

// RegisterEventHandler adds a handler for every later event.
func (a *Agent) RegisterEventHandler(h EventHandler) {
	a.handlersLock.Lock()
	defer a.handlersLock.Unlock()
	a.handlers[h] = struct{}{}
	a.rebuildHandlers()
}

// DeregisterEventHandler removes a handler.
func (a *Agent) DeregisterEventHandler(h EventHandler) {
	a.handlersLock.Lock()
	defer a.handlersLock.Unlock()
	delete(a.handlers, h)
	a.rebuildHandlers()
}

// rebuildHandlers makes a new list so the event loop can keep using the
// old one without a copy. Must hold handlersLock.
func (a *Agent) rebuildHandlers() {
	list := make([]EventHandler, 0, len(a.handlers))
	for h := range a.handlers {
		list = append(list, h)
	}
	a.handlerList = list
}

// eventLoop hands each event from Serf to every handler, until Serf or
// the agent stops.
func (a *Agent) eventLoop() {
	serfDown := a.serf.ShutdownCh()
	for {
		select {
		case e := <-a.eventCh:
			a.logger.Printf("[INFO] agent: Received event: %s", e.String())
			a.handlersLock.Lock()
			list := a.handlerList
			a.handlersLock.Unlock()
			for _, h := range list {
				h.HandleEvent(e)
			}
		case <-serfDown:
			// Stopping the agent stops Serf too, which closes serfDown
			// before shutdownCh; only a Serf that stopped by itself (a
			// lost name conflict, a library caller) is worth the warning.
			if !a.stopping.Load() {
				a.logger.Printf("[WARN] agent: Serf shutdown detected, quitting")
				// Serf is down already, so this only marks the agent down.
				_ = a.stop()
			}
			return
		case <-a.shutdownCh:
			return
		}
	}
}

// EventHandlerKeys is the "event_handlers" section of `serf info`:
// "<event>:<name>" to script.
func (a *Agent) EventHandlerKeys() map[string]string {
	out := map[string]string{}
	if a.scripts == nil {
		return out
	}
	for _, s := range a.scripts.Specs() {
		out[s.Key()] = s.Script
	}
	return out
}

// scriptHandler adapts the script runner, which never blocks, to the
// agent's handler list.
type scriptHandler struct{ r *event.Runner }

func (h scriptHandler) HandleEvent(e serf.Event) { h.r.Handle(e) }
