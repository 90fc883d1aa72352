package serf

import (
	"log"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// atomicTime is a LamportTime that one goroutine writes and any reads.
type atomicTime struct{ v atomic.Uint64 }

func (t *atomicTime) Load() LamportTime   { return LamportTime(t.v.Load()) }
func (t *atomicTime) Store(v LamportTime) { t.v.Store(uint64(v)) }

// Snapshotter records a node's events in a snapshot file and reads back
// what a restarted node needs: its Lamport clocks and the peers to rejoin.
// Create runs one for Config.SnapshotPath; NewSnapshotter gives programs
// that build their own event pipeline (as Serf's library allows) the same
// file format and replay.
type Snapshotter struct {
	snap       *snapshotter
	inCh       chan Event
	outCh      chan<- Event
	shutdownCh <-chan struct{}
	alive      []PreviousNode // as replayed; the run goroutine owns snap's maps
	wg         sync.WaitGroup
	waitCh     chan struct{}
}

// NewSnapshotter opens (creating) the snapshot file at path and replays
// it. Events sent on the returned channel are recorded in the file and
// passed on to outCh, which may be nil; the snapshotter never blocks on
// outCh: an event its reader is not ready for is not passed on, as in
// Serf. The file is compacted once it outgrows minCompactSize bytes (or
// an estimate from the number of members, if larger). clock is the member
// clock, recorded as it moves. With rejoinAfterLeave a recorded leave does
// not clear the peers to rejoin. Closing shutdownCh stops the snapshotter:
// it records what is queued, syncs and closes the file; Wait waits for
// that.
func NewSnapshotter(path string, minCompactSize int, rejoinAfterLeave bool, logger *log.Logger,
	clock *LamportClock, outCh chan<- Event, shutdownCh <-chan struct{}) (chan<- Event, *Snapshotter, error) {
	if logger == nil {
		logger = log.Default()
	}
	snap, err := openSnapshot(path, rejoinAfterLeave, logger, clock)
	if err != nil {
		return nil, nil, err
	}
	snap.minCompactSize = int64(minCompactSize)
	s := &Snapshotter{
		snap:       snap,
		inCh:       make(chan Event, snapshotQueueDepth),
		outCh:      outCh,
		shutdownCh: shutdownCh,
		alive:      snap.aliveNodes(),
		waitCh:     make(chan struct{}),
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		snap.run(shutdownCh)
	}()
	go func() {
		defer s.wg.Done()
		s.tee()
	}()
	go func() {
		s.wg.Wait()
		close(s.waitCh)
	}()
	return s.inCh, s, nil
}

// tee copies each incoming event to the file's queue and to outCh, never
// blocking on either.
func (s *Snapshotter) tee() {
	forward := func(e Event) {
		s.snap.record(e)
		if s.outCh == nil {
			return
		}
		select {
		case s.outCh <- e:
		default:
		}
	}
	for {
		select {
		case e := <-s.inCh:
			forward(e)
		case <-s.shutdownCh:
			for {
				select {
				case e := <-s.inCh:
					forward(e)
				default:
					return
				}
			}
		}
	}
}

// LastClock returns the newest member clock recorded in the file.
func (s *Snapshotter) LastClock() LamportTime { return s.snap.lastClock.Load() }

// LastEventClock returns the newest user event clock recorded.
func (s *Snapshotter) LastEventClock() LamportTime { return s.snap.lastEventClock.Load() }

// LastQueryClock returns the newest query clock recorded.
func (s *Snapshotter) LastQueryClock() LamportTime { return s.snap.lastQueryClock.Load() }

// AliveNodes returns, in random order, the peers the file last recorded
// as alive when it was opened: the nodes a restarted node rejoins.
func (s *Snapshotter) AliveNodes() []*PreviousNode {
	out := make([]*PreviousNode, len(s.alive))
	for i, p := range s.alive {
		out[i] = &PreviousNode{Name: p.Name, Addr: p.Addr}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Leave records that this node left, so that a restart does not rejoin
// (unless rejoinAfterLeave was set). It returns once the leave is on disk
// or the snapshotter has stopped.
func (s *Snapshotter) Leave() { s.snap.leave(s.shutdownCh) }

// Wait blocks until the snapshotter has stopped after shutdownCh closed
// and the file is synced and closed.
func (s *Snapshotter) Wait() { <-s.waitCh }
