package agent

import (
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/logutils"
)

// LogLevels are the levels the agent logs at, lowest first. A line's
// level is its "[LEVEL]" tag.
var LogLevels = []logutils.LogLevel{"TRACE", "DEBUG", "INFO", "WARN", "ERR"}

// LevelFilter passes on only lines at or above its level; lines without
// a known level tag pass. Unlike logutils.LevelFilter, which it wraps, its
// level can be changed (SIGHUP) while other goroutines log.
type LevelFilter struct {
	lock sync.RWMutex
	f    *logutils.LevelFilter // guarded by lock
}

// NewLevelFilter returns a filter writing to w (which may be nil when
// only Check is used).
func NewLevelFilter(level string, w io.Writer) *LevelFilter {
	f := &logutils.LevelFilter{
		Levels:   LogLevels,
		MinLevel: logutils.LogLevel(strings.ToUpper(level)),
		Writer:   w,
	}
	f.Check(nil) // builds the filter's lookup table now, not on first use
	return &LevelFilter{f: f}
}

// Write passes p on if it is at or above the level.
func (l *LevelFilter) Write(p []byte) (int, error) {
	l.lock.RLock()
	defer l.lock.RUnlock()
	return l.f.Write(p)
}

// Check reports whether line is at or above the level.
func (l *LevelFilter) Check(line []byte) bool {
	l.lock.RLock()
	defer l.lock.RUnlock()
	return l.f.Check(line)
}

// SetLevel changes the level (any case).
func (l *LevelFilter) SetLevel(level string) {
	l.lock.Lock()
	defer l.lock.Unlock()
	l.f.SetMinLevel(logutils.LogLevel(strings.ToUpper(level)))
}

// ValidLevel reports whether level (any case) is one of LogLevels.
func ValidLevel(level string) bool {
	want := logutils.LogLevel(strings.ToUpper(level))
	for _, l := range LogLevels {
		if l == want {
			return true
		}
	}
	return false
}

// LogHandler receives log lines (without the trailing newline). It must
// not block: the log ring calls it with its lock held.
type LogHandler interface {
	HandleLog(line string)
}

// LogRing keeps the most recent log lines for `serf monitor` and hands
// every new line to the registered handlers.
type LogRing struct {
	lock     sync.Mutex
	lines    []string // ring of the last len(lines) lines
	next     int      // slot of the next line
	full     bool
	handlers map[LogHandler]struct{}
}

// NewLogRing keeps the last n lines.
func NewLogRing(n int) *LogRing {
	return &LogRing{lines: make([]string, n), handlers: make(map[LogHandler]struct{})}
}

// RegisterHandler replays the kept lines to h, oldest first, then streams
// new ones to it.
func (r *LogRing) RegisterHandler(h LogHandler) {
	r.lock.Lock()
	defer r.lock.Unlock()
	if _, ok := r.handlers[h]; ok {
		return
	}
	r.handlers[h] = struct{}{}
	if r.full {
		for _, l := range r.lines[r.next:] {
			h.HandleLog(l)
		}
	}
	for _, l := range r.lines[:r.next] {
		h.HandleLog(l)
	}
}

// DeregisterHandler stops streaming to h.
func (r *LogRing) DeregisterHandler(h LogHandler) {
	r.lock.Lock()
	defer r.lock.Unlock()
	delete(r.handlers, h)
}

// Write records p as one entry, without its trailing newline, as Serf
// does: a multi-line message (a join's multierror) stays one record, so
// `serf monitor` neither loses its level tag on the continuation lines
// nor sends an empty record, which Serf's CLI takes for the end.
func (r *LogRing) Write(p []byte) (int, error) {
	s := strings.TrimSuffix(string(p), "\n")
	r.lock.Lock()
	defer r.lock.Unlock()
	r.lines[r.next] = s
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	for h := range r.handlers {
		h.HandleLog(s)
	}
	return len(p), nil
}

// GatedWriter holds everything written to it until Flush, then writes
// through. The agent uses it so start-up logs appear after the banner.
type GatedWriter struct {
	Writer io.Writer

	lock    sync.Mutex
	buf     [][]byte
	flushed bool
}

// Write buffers p before Flush and writes it through after.
func (g *GatedWriter) Write(p []byte) (int, error) {
	g.lock.Lock()
	defer g.lock.Unlock()
	if g.flushed {
		return g.Writer.Write(p)
	}
	g.buf = append(g.buf, append([]byte(nil), p...))
	return len(p), nil
}

// Flush writes what was buffered and opens the gate.
func (g *GatedWriter) Flush() {
	g.lock.Lock()
	defer g.lock.Unlock()
	for _, p := range g.buf {
		_, _ = g.Writer.Write(p)
	}
	g.buf = nil
	g.flushed = true
}
