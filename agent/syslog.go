package agent

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	gsyslog "github.com/hashicorp/go-syslog"
)

// syslogPriority maps our levels to syslog priorities, as Serf does.
var syslogPriority = map[string]gsyslog.Priority{
	"TRACE": gsyslog.LOG_DEBUG,
	"DEBUG": gsyslog.LOG_INFO,
	"INFO":  gsyslog.LOG_NOTICE,
	"WARN":  gsyslog.LOG_WARNING,
	"ERR":   gsyslog.LOG_ERR,
	"CRIT":  gsyslog.LOG_CRIT,
}

// SyslogWriter sends each log line that passes the level filter to
// syslog with the priority of its level and the level tag removed.
type SyslogWriter struct {
	filter *LevelFilter
	out    gsyslog.Syslogger
	json   bool // send the whole line as a JSON object (log_json)
}

// NewSyslogWriter opens syslog with the given facility (LOCAL0 ... by
// name) and tag "serf".
func NewSyslogWriter(facility, level string) (*SyslogWriter, error) {
	out, err := gsyslog.NewLogger(gsyslog.LOG_NOTICE, strings.ToUpper(facility), "serf")
	if err != nil {
		return nil, err
	}
	return &SyslogWriter{filter: NewLevelFilter(level, nil), out: out}, nil
}

// Write forwards one log line.
func (s *SyslogWriter) Write(p []byte) (int, error) {
	if !s.filter.Check(p) {
		return len(p), nil
	}
	prio := gsyslog.LOG_NOTICE
	line := p
	if start := bytes.IndexByte(p, '['); start >= 0 {
		if end := bytes.IndexByte(p[start:], ']'); end > 0 {
			if pr, ok := syslogPriority[string(p[start+1:start+end])]; ok {
				prio = pr
				// Syslog stamps its own time: keep only what follows the tag.
				line = bytes.TrimLeft(p[start+end+1:], " ")
			}
		}
	}
	if s.json {
		line = LogLineJSON(bytes.TrimRight(p, "\n"), time.Now())
	}
	if err := s.out.WriteLevel(prio, line); err != nil {
		return 0, fmt.Errorf("syslog: %w", err)
	}
	return len(p), nil
}

// SetLevel changes the level filter (on reload).
func (s *SyslogWriter) SetLevel(level string) {
	s.filter.SetLevel(level)
}
