package serf

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The snapshot file lets a restarted node restore its Lamport clocks (so
// it does not replay old events) and rejoin the peers it knew. It is a
// text file of lines appended as things happen, in Serf's format:
//
//	alive: <name> <ip:port>     a member joined
//	not-alive: <name>           a member left (or failed, in Serf's files)
//	failed: <name> <ip:port>    a member failed (ours; Serf warns and skips)
//	clock: <n>                  member clock
//	event-clock: <n>            newest user event seen
//	query-clock: <n>            newest query seen
//	leave                       this node left the cluster
//	# ...                       comment
//
// Unlike Serf, failed peers are remembered as rejoin candidates, so a
// cluster that went down whole can heal, and a torn last line (power loss
// mid-write) is cut off with a warning instead of corrupting the next.

const (
	// snapshotTickInterval is how often the clocks are recorded and the
	// buffer flushed. Serf runs two tickers of 500ms for the two; one
	// wakes the agent half as often.
	snapshotTickInterval   = 500 * time.Millisecond
	snapshotShutdownFlush  = 250 * time.Millisecond
	snapshotRetryCompact   = 30 * time.Second
	snapshotBytesPerNode   = 128
	snapshotCompactFactor  = 2
	snapshotMinCompactSize = 128 * 1024
	snapshotQueueDepth     = 2048
	snapshotCompactSuffix  = ".compact"
)

// PreviousNode is a peer remembered in the snapshot.
type PreviousNode struct {
	Name string
	Addr string
}

func (p PreviousNode) String() string { return p.Name + ": " + p.Addr }

// snapshotter owns the snapshot file. Its goroutine (run) is the only
// one that touches the file after replay.
type snapshotter struct {
	path             string
	rejoinAfterLeave bool
	minCompactSize   int64
	logger           *log.Logger
	clock            *LamportClock
	serf             *Serf

	fh       *os.File
	buffered *bufio.Writer
	offset   int64
	dirty    bool

	alive  map[string]string // name -> ip:port
	failed map[string]string // name -> ip:port

	// The clocks are written by replay and then only by run, and read by
	// any goroutine through the public Snapshotter.
	lastClock      atomicTime
	lastEventClock atomicTime
	lastQueryClock atomicTime

	inCh    chan Event
	leaveCh chan chan struct{}
	leaving bool

	lastCompactAttempt time.Time
}

// openSnapshot opens (creating) and replays the snapshot file.
func openSnapshot(path string, rejoinAfterLeave bool, logger *log.Logger, clock *LamportClock) (*snapshotter, error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open snapshot: %w", err)
	}
	s := &snapshotter{
		path:             path,
		rejoinAfterLeave: rejoinAfterLeave,
		minCompactSize:   snapshotMinCompactSize,
		logger:           logger,
		clock:            clock,
		fh:               fh,
		alive:            make(map[string]string),
		failed:           make(map[string]string),
		inCh:             make(chan Event, snapshotQueueDepth),
		leaveCh:          make(chan chan struct{}),
	}
	if err := s.replay(); err != nil {
		fh.Close()
		return nil, err
	}
	s.buffered = bufio.NewWriter(fh)
	return s, nil
}

// replay reads the file, then cuts off a torn last line and positions at
// the end for appending.
func (s *snapshotter) replay() error {
	data, err := readAll(s.fh)
	if err != nil {
		return fmt.Errorf("failed to read snapshot: %w", err)
	}
	complete := data
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		complete = data[:i+1]
		s.logger.Printf("[WARN] serf: Ignoring incomplete last line of snapshot (%d bytes)", len(data)-len(complete))
		if err := s.fh.Truncate(int64(len(complete))); err != nil {
			return fmt.Errorf("failed to truncate snapshot: %w", err)
		}
	}
	for _, line := range strings.Split(string(complete), "\n") {
		if line != "" {
			s.replayLine(line)
		}
	}
	s.offset = int64(len(complete))
	if _, err := s.fh.Seek(s.offset, 0); err != nil {
		return fmt.Errorf("failed to seek snapshot: %w", err)
	}
	return nil
}

func readAll(fh *os.File) ([]byte, error) {
	if _, err := fh.Seek(0, 0); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(fh)
	return buf.Bytes(), err
}

// replayLine applies one snapshot line; a bad line is logged and skipped.
func (s *snapshotter) replayLine(line string) {
	// parseClock reads a clock value; failed names Serf's log line for
	// that clock, spelled out so that it can be found in the source.
	parseClock := func(v, failed string) (LamportTime, bool) {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.logger.Printf(failed, err)
			return 0, false
		}
		return LamportTime(n), true
	}
	// nameAddr splits "<name> <ip:port>" at the last space: names may
	// contain spaces, addresses cannot.
	nameAddr := func(v string) (string, string, bool) {
		i := strings.LastIndexByte(v, ' ')
		if i < 0 {
			s.logger.Printf("[WARN] serf: Failed to parse address: %v", line)
			return "", "", false
		}
		return v[:i], v[i+1:], true
	}

	switch {
	case strings.HasPrefix(line, "alive: "):
		if name, addr, ok := nameAddr(strings.TrimPrefix(line, "alive: ")); ok {
			s.alive[name] = addr
			delete(s.failed, name)
		}
	case strings.HasPrefix(line, "failed: "):
		if name, addr, ok := nameAddr(strings.TrimPrefix(line, "failed: ")); ok {
			delete(s.alive, name)
			s.failed[name] = addr
		}
	case strings.HasPrefix(line, "not-alive: "):
		name := strings.TrimPrefix(line, "not-alive: ")
		delete(s.alive, name)
		delete(s.failed, name)
	case strings.HasPrefix(line, "clock: "):
		if t, ok := parseClock(strings.TrimPrefix(line, "clock: "), "[WARN] serf: Failed to convert clock time: %v"); ok {
			s.lastClock.Store(t)
		}
	case strings.HasPrefix(line, "event-clock: "):
		if t, ok := parseClock(strings.TrimPrefix(line, "event-clock: "), "[WARN] serf: Failed to convert event clock time: %v"); ok {
			s.lastEventClock.Store(t)
		}
	case strings.HasPrefix(line, "query-clock: "):
		if t, ok := parseClock(strings.TrimPrefix(line, "query-clock: "), "[WARN] serf: Failed to convert query clock time: %v"); ok {
			s.lastQueryClock.Store(t)
		}
	case strings.HasPrefix(line, "coordinate: "), strings.HasPrefix(line, "#"):
		// Old coordinate lines and comments carry nothing we restore.
	case line == "leave":
		if s.rejoinAfterLeave {
			s.logger.Printf("[INFO] serf: Ignoring previous leave in snapshot")
			return
		}
		s.alive = make(map[string]string)
		s.failed = make(map[string]string)
		s.lastClock.Store(0)
		s.lastEventClock.Store(0)
		s.lastQueryClock.Store(0)
	default:
		s.logger.Printf("[WARN] serf: Unrecognized snapshot line: %v", line)
	}
}

// previousNodes lists the peers to rejoin: those last seen alive, in
// random order, then those last seen failed, in random order.
func (s *snapshotter) previousNodes() []PreviousNode {
	return append(shuffledNodes(s.alive), shuffledNodes(s.failed)...)
}

// aliveNodes lists the peers last seen alive, in random order.
func (s *snapshotter) aliveNodes() []PreviousNode { return shuffledNodes(s.alive) }

func shuffledNodes(m map[string]string) []PreviousNode {
	out := make([]PreviousNode, 0, len(m))
	for name, addr := range m {
		out = append(out, PreviousNode{Name: name, Addr: addr})
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// record hands an event to the snapshotter without blocking; the file is
// a best-effort record, and a full queue loses the event for it only.
func (s *snapshotter) record(e Event) {
	select {
	case s.inCh <- e:
	default:
	}
}

// leave records that this node left and waits until it is on disk (or
// the node shuts down).
func (s *snapshotter) leave(shutdownCh <-chan struct{}) {
	done := make(chan struct{})
	select {
	case s.leaveCh <- done:
	case <-shutdownCh:
		return
	}
	select {
	case <-done:
	case <-shutdownCh:
	}
}

// run is the snapshotter's goroutine.
func (s *snapshotter) run(shutdownCh <-chan struct{}) {
	tick := time.NewTicker(snapshotTickInterval)
	defer tick.Stop()

	for {
		select {
		case e := <-s.inCh:
			s.process(e)
		case done := <-s.leaveCh:
			s.leaving = true
			if !s.rejoinAfterLeave {
				s.alive = make(map[string]string)
				s.failed = make(map[string]string)
			}
			s.appendLine("leave\n")
			s.syncLeave()
			close(done)
		case <-tick.C:
			s.updateClock()
			if s.dirty {
				s.flush()
			}
		case <-shutdownCh:
			deadline := time.NewTimer(snapshotShutdownFlush)
		drain:
			for {
				select {
				case e := <-s.inCh:
					s.process(e)
				case <-deadline.C:
					break drain
				default:
					break drain
				}
			}
			deadline.Stop()
			s.updateClock()
			s.sync()
			s.fh.Close()
			return
		}
	}
}

// process records one event, unless this node has left.
func (s *snapshotter) process(e Event) {
	if s.leaving {
		return
	}
	switch e := e.(type) {
	case MemberEvent:
		for _, m := range e.Members {
			addr := (&net.TCPAddr{IP: m.Addr, Port: int(m.Port)}).String()
			switch e.Type {
			case EventMemberJoin:
				s.alive[m.Name] = addr
				delete(s.failed, m.Name)
				s.appendLine("alive: " + m.Name + " " + addr + "\n")
			case EventMemberFailed:
				delete(s.alive, m.Name)
				s.failed[m.Name] = addr
				s.appendLine("failed: " + m.Name + " " + addr + "\n")
			case EventMemberLeave:
				delete(s.alive, m.Name)
				delete(s.failed, m.Name)
				s.appendLine("not-alive: " + m.Name + "\n")
			}
		}
		s.updateClock()
	case UserEvent:
		if e.LTime > s.lastEventClock.Load() {
			s.lastEventClock.Store(e.LTime)
			s.appendLine(fmt.Sprintf("event-clock: %d\n", e.LTime))
		}
	case *Query:
		if e.LTime > s.lastQueryClock.Load() {
			s.lastQueryClock.Store(e.LTime)
			s.appendLine(fmt.Sprintf("query-clock: %d\n", e.LTime))
		}
	default:
		s.logger.Printf("[ERR] serf: Unknown event to snapshot: %#v", e)
	}
}

// updateClock records the member clock when it moved. The current value
// has not been used yet, hence the minus one.
func (s *snapshotter) updateClock() {
	if seen := s.clock.Time() - 1; seen > s.lastClock.Load() {
		s.lastClock.Store(seen)
		s.appendLine(fmt.Sprintf("clock: %d\n", seen))
	}
}

// appendLine buffers a line (flushed by the ticker) and compacts the file
// when it has grown past its limit. A write error triggers a compaction,
// at most every 30s, which rewrites the file from memory.
func (s *snapshotter) appendLine(line string) {
	if s.serf != nil {
		defer s.serf.metrics.MeasureSinceWithLabels([]string{"serf", "snapshot", "appendLine"}, time.Now(), s.serf.labels)
	}
	n, err := s.buffered.WriteString(line)
	if err == nil {
		s.offset += int64(n)
		s.dirty = true
		if s.offset > s.maxSize() {
			err = s.compact()
		}
	}
	if err == nil {
		return
	}
	s.logger.Printf("[ERR] serf: Failed to update snapshot: %v", err)
	if time.Since(s.lastCompactAttempt) < snapshotRetryCompact {
		return
	}
	s.lastCompactAttempt = time.Now()
	s.logger.Printf("[INFO] serf: Attempting compaction to recover from error...")
	if err := s.compact(); err != nil {
		s.logger.Printf("[ERR] serf: Compaction failed, will reattempt after %v: %v", snapshotRetryCompact, err)
		return
	}
	s.logger.Printf("[INFO] serf: Finished compaction, successfully recovered from error state")
}

func (s *snapshotter) maxSize() int64 {
	est := int64(len(s.alive)+len(s.failed)) * snapshotBytesPerNode * snapshotCompactFactor
	return max(est, s.minCompactSize)
}

func (s *snapshotter) flush() {
	if err := s.buffered.Flush(); err != nil {
		s.logger.Printf("[ERR] serf: failed to flush snapshot: %v", err)
		return
	}
	s.dirty = false
}

// syncLeave is sync for the leave line, with Serf's log lines for it.
func (s *snapshotter) syncLeave() {
	if err := s.buffered.Flush(); err != nil {
		s.logger.Printf("[ERR] serf: failed to flush leave to snapshot: %v", err)
	} else {
		s.dirty = false
	}
	if err := s.fh.Sync(); err != nil {
		s.logger.Printf("[ERR] serf: failed to sync leave to snapshot: %v", err)
	}
}

func (s *snapshotter) sync() {
	s.flush()
	if err := s.fh.Sync(); err != nil {
		s.logger.Printf("[ERR] serf: failed to sync snapshot: %v", err)
	}
}

// compact rewrites the file with only what replay needs, through a synced
// temporary file renamed over the old one, so there is always a complete
// snapshot on disk.
func (s *snapshotter) compact() error {
	if s.serf != nil {
		defer s.serf.metrics.MeasureSinceWithLabels([]string{"serf", "snapshot", "compact"}, time.Now(), s.serf.labels)
	}
	var b strings.Builder
	for name, addr := range s.alive {
		fmt.Fprintf(&b, "alive: %s %s\n", name, addr)
	}
	for name, addr := range s.failed {
		fmt.Fprintf(&b, "failed: %s %s\n", name, addr)
	}
	fmt.Fprintf(&b, "clock: %d\nevent-clock: %d\nquery-clock: %d\n", s.lastClock.Load(), s.lastEventClock.Load(), s.lastQueryClock.Load())
	if s.leaving {
		b.WriteString("leave\n")
	}

	tmp := s.path + snapshotCompactSuffix
	fh, err := os.OpenFile(tmp, os.O_RDWR|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open new snapshot: %w", err)
	}
	if _, err := fh.WriteString(b.String()); err != nil {
		fh.Close()
		return fmt.Errorf("failed to write new snapshot: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("failed to fsync new snapshot: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		fh.Close()
		return fmt.Errorf("failed to install new snapshot: %w", err)
	}
	syncDir(filepath.Dir(s.path))

	// Whatever was buffered for the old file is in the new one already.
	s.buffered.Reset(fh)
	s.fh.Close()
	s.fh = fh
	s.offset = int64(b.Len())
	s.dirty = false
	return nil
}

// syncDir makes a rename in dir durable; failure only weakens durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// onLeave records the leave in the snapshot before the cluster is told.
func (s *Serf) onLeave() {
	if s.snapshot != nil {
		s.snapshot.leave(s.shutdownCh)
	}
}
