package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"sync"
	"time"
)

// JSONTimeFormat is the layout of "@timestamp" in JSON log lines: local
// time to the microsecond with its offset, as HashiCorp's tools write it.
const JSONTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// jsonLevels names the level tags of text lines as JSON lines name them,
// in lower case as Consul and Nomad do, so one pipeline parses all three.
var jsonLevels = map[string]string{
	"TRACE": "trace",
	"DEBUG": "debug",
	"INFO":  "info",
	"WARN":  "warn",
	"ERR":   "error",
	"CRIT":  "error",
}

// textLine is the shape of the agent's text log lines:
// "2006/01/02 15:04:05 [LEVEL] module: message". The time and the module
// are optional (a library may log without either).
var textLine = regexp.MustCompile(`^(?:\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? )?\[([A-Z]+)\] (?:([a-z][a-z0-9_.-]*): )?(.*)$`)

// logField is a "key=value" word at the end of a message, the way
// memberlist names a peer ("from=10.0.0.2:7946").
var logField = regexp.MustCompile(`\s([a-z][a-z0-9_]*)=(\S+)$`)

// LogLineJSON turns one text log line (without its newline) into a JSON
// object: "@timestamp" (t), "@level", "@module" and "@message", and a key
// for each "key=value" word that ends the message. "@message" is the
// message as the text line has it, those words included, so that what
// one searched the text for is found in the JSON too. A line without a
// level tag is "info" with the whole line as its message.
func LogLineJSON(line []byte, t time.Time) []byte {
	obj := map[string]string{
		"@timestamp": t.Format(JSONTimeFormat),
		"@level":     "info",
		"@message":   string(line),
	}
	if m := textLine.FindSubmatch(line); m != nil {
		if level, ok := jsonLevels[string(m[1])]; ok {
			obj["@level"] = level
		}
		if len(m[2]) > 0 {
			obj["@module"] = string(m[2])
		}
		msg := m[3]
		obj["@message"] = string(msg)
		for rest := msg; ; {
			f := logField.FindSubmatchIndex(rest)
			if f == nil {
				break
			}
			key := string(rest[f[2]:f[3]])
			if _, taken := obj[key]; !taken {
				obj[key] = string(rest[f[4]:f[5]])
			}
			rest = rest[:f[0]]
		}
	}
	// A map of strings always encodes; keys come out sorted, so the "@"
	// keys lead and every line of a kind has the same order.
	b, _ := json.Marshal(obj)
	return b
}

// jsonLogWriter writes every text line written to it as a JSON line
// (LogLineJSON) to w. Lines may come several to a write, or a line in
// several writes; a part line waits for its end.
type jsonLogWriter struct {
	w   io.Writer
	now func() time.Time

	lock    sync.Mutex
	partial []byte // guarded by lock
}

// NewJSONLogWriter returns a writer that turns the text log lines written
// to it into JSON lines on w.
func NewJSONLogWriter(w io.Writer) io.Writer {
	return &jsonLogWriter{w: w, now: time.Now}
}

func (j *jsonLogWriter) Write(p []byte) (int, error) {
	j.lock.Lock()
	defer j.lock.Unlock()
	data := p
	if len(j.partial) > 0 {
		data = append(j.partial, p...)
		j.partial = nil
	}
	var out []byte
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		out = append(out, LogLineJSON(data[:i], j.now())...)
		out = append(out, '\n')
		data = data[i+1:]
	}
	if len(data) > 0 {
		j.partial = append([]byte(nil), data...)
	}
	if len(out) == 0 {
		return len(p), nil
	}
	if _, err := j.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
