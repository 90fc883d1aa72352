package event

import (
	"log"
	"sync"
)

// responder is what a query handler answers through: *serf.Query.
type responder interface {
	Respond([]byte) error
}

// answer is one query's response, shared by the handlers the query
// matched. Serf runs those handlers one after another in configuration
// order, and each one that exits 0 with output calls Respond: the first
// such output is the node's response, and Respond refuses every later one
// ("response already sent"), which Serf logs. Here the handlers run in
// parallel and finish in any order, so answer makes the Respond calls in
// configuration order: a handler's output goes to Respond only once every
// handler before it has finished. A slow earlier handler therefore holds
// up the response, until the query's deadline, as it does in Serf.
//
// Safe for concurrent use. Respond is called without the lock held, by
// one goroutine at a time: the worker whose result completes the prefix
// of finished handlers, which answers for the ones after it too.
type answer struct {
	query  responder
	name   string // the query's String(), for the log
	logger *log.Logger

	lock  sync.Mutex
	slots []slot // guarded by lock; one per matched handler, in order
	next  int    // guarded by lock; the first slot not yet passed
	busy  bool   // guarded by lock; a goroutine is making Respond calls
}

// slot is one matched handler's part in an answer.
type slot struct {
	state  slotState
	output []byte // for slotDone: what to respond with; nil for nothing
}

type slotState uint8

const (
	slotPending slotState = iota
	// slotDone: the handler's run is over; its output, if any, is to be
	// handed to Respond in turn.
	slotDone
	// slotAbandoned: the Runner shut down before the handler finished,
	// so no later handler answers either, as in Serf, whose event loop
	// never gets past a running script.
	slotAbandoned
)

// newAnswer returns the answer to q for n matched handlers, or nil if
// there are none.
func newAnswer(q responder, name string, n int, logger *log.Logger) *answer {
	if n == 0 {
		return nil
	}
	return &answer{query: q, name: name, logger: logger, slots: make([]slot, n)}
}

// finish records the result of slot i's handler: output is its response
// if it exited 0, nil if it failed or printed nothing (or never ran). It
// may call Respond, for this slot and later ones. A nil answer (not a
// query) does nothing.
func (a *answer) finish(i int, output []byte) {
	a.set(i, slot{state: slotDone, output: output})
}

// abandon records that slot i's handler was left unfinished at Shutdown:
// neither it nor any handler after it responds.
func (a *answer) abandon(i int) {
	a.set(i, slot{state: slotAbandoned})
}

func (a *answer) set(i int, s slot) {
	if a == nil {
		return
	}
	a.lock.Lock()
	a.slots[i] = s
	if a.busy {
		// The goroutine making the calls picks this up before it stops.
		a.lock.Unlock()
		return
	}
	a.busy = true
	for {
		ready := a.takeReady()
		if len(ready) == 0 {
			a.busy = false
			a.lock.Unlock()
			return
		}
		a.lock.Unlock()
		for _, output := range ready {
			if err := a.query.Respond(output); err != nil {
				a.logger.Printf("[WARN] agent: Failed to respond to query '%s': %v", a.name, err)
			}
		}
		a.lock.Lock()
	}
}

// takeReady passes the finished slots at next and returns their outputs
// to respond with, in order. Must hold lock.
func (a *answer) takeReady() [][]byte {
	var ready [][]byte
	for a.next < len(a.slots) {
		s := &a.slots[a.next]
		switch s.state {
		case slotPending:
			return ready
		case slotAbandoned:
			a.next = len(a.slots)
			return ready
		}
		if len(s.output) > 0 {
			ready = append(ready, s.output)
		}
		s.output = nil
		a.next++
	}
	return ready
}
