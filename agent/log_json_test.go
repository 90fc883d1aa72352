package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

func TestLogLineJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 22, 10, 5, 123456000, time.FixedZone("", 3600))
	const ts = "2026-12-02T22:10:05.123456+01:00"
	tests := []struct {
		line string
		want map[string]string
	}{
		{"2026/12/02 22:10:05 [INFO] agent: Received event: member-join",
			map[string]string{"@level": "info", "@module": "agent", "@message": "Received event: member-join"}},
		{"2026/12/02 22:10:05 [DEBUG] memberlist: Stream connection from=127.0.0.1:53524",
			map[string]string{"@level": "debug", "@module": "memberlist",
				"@message": "Stream connection from=127.0.0.1:53524", "from": "127.0.0.1:53524"}},
		{"2026/12/02 22:10:05 [ERR] agent.ipc: Failed to decode request: EOF",
			map[string]string{"@level": "error", "@module": "agent.ipc", "@message": "Failed to decode request: EOF"}},
		{"2026/12/02 22:10:05 [WARN] serf: Query 'x' dropped: queue full",
			map[string]string{"@level": "warn", "@module": "serf", "@message": "Query 'x' dropped: queue full"}},
		{"2026/12/02 22:10:05 [TRACE] agent: a=1 b=2",
			map[string]string{"@level": "trace", "@module": "agent", "@message": "a=1 b=2", "b": "2"}},
		{"[CRIT] boom", map[string]string{"@level": "error", "@message": "boom"}},
		{"2026/12/02 22:10:05 [INFO] EventMemberJoin: x 127.0.0.1",
			map[string]string{"@level": "info", "@message": "EventMemberJoin: x 127.0.0.1"}},
		{"panic: something", map[string]string{"@level": "info", "@message": "panic: something"}},
		{"2026/12/02 22:10:05 [BOGUS] agent: x", map[string]string{"@level": "info", "@module": "agent", "@message": "x"}},
		{"", map[string]string{"@level": "info", "@message": ""}},
		{"\xff\xfe [INFO] agent: bad utf-8", map[string]string{"@level": "info", "@message": "\ufffd\ufffd [INFO] agent: bad utf-8"}},
	}
	for _, tt := range tests {
		var got map[string]string
		if err := json.Unmarshal(LogLineJSON([]byte(tt.line), at), &got); err != nil {
			t.Fatalf("LogLineJSON(%q) is not JSON: %v", tt.line, err)
		}
		want := maps.Clone(tt.want)
		want["@timestamp"] = ts
		if !maps.Equal(got, want) {
			t.Errorf("LogLineJSON(%q) =\n%v\nwant\n%v", tt.line, got, want)
		}
	}
	if got, want := string(LogLineJSON([]byte("2026/12/02 22:10:05 [INFO] agent: hi"), at)),
		`{"@level":"info","@message":"hi","@module":"agent","@timestamp":"`+ts+`"}`; got != want {
		t.Errorf("key order: %s, want %s", got, want)
	}
}

func FuzzLogLineJSON(f *testing.F) {
	f.Add([]byte("2026/12/02 22:10:05 [DEBUG] memberlist: Stream connection from=127.0.0.1:53524"))
	f.Add([]byte("[ERR] agent: x=1 y=\"2\""))
	f.Fuzz(func(t *testing.T, line []byte) {
		var got map[string]string
		if err := json.Unmarshal(LogLineJSON(line, time.Unix(0, 0)), &got); err != nil {
			t.Fatalf("not JSON for %q: %v", line, err)
		}
		if got["@level"] == "" || got["@timestamp"] == "" {
			t.Fatalf("no @level or @timestamp for %q: %v", line, got)
		}
	})
}

// Lines come to the writer whole, several at once, or in parts.
func TestJSONLogWriterSplitsLines(t *testing.T) {
	var out strings.Builder
	w := &jsonLogWriter{w: &out, now: func() time.Time { return time.Unix(0, 0).UTC() }}
	for _, part := range []string{"[INFO] agent: one\n[WARN] agent: two\n[ERR] agent: th", "ree\n", "[INFO] agent: not yet ended"} {
		if n, err := w.Write([]byte(part)); n != len(part) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	var messages []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var obj map[string]string
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		messages = append(messages, obj["@level"]+" "+obj["@message"])
	}
	if want := []string{"info one", "warn two", "error three"}; strings.Join(messages, "|") != strings.Join(want, "|") {
		t.Errorf("messages = %q, want %q", messages, want)
	}
}

// With log_json the agent's terminal gets JSON lines only, at the
// configured level, and a reload cannot turn it off.
func TestDaemonLogJSON(t *testing.T) {
	yes := true
	conf := daemonConfig(t, "lj", func(c *Config) { c.LogJSON = &yes })
	a, logs := startDaemon(t, conf)
	wait.For(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `"@module":"serf","@timestamp"`) {
			return errors.New("no line of serf's yet")
		}
		return nil
	})

	no := false
	next := MergeConfig(nil, conf)
	next.LogJSON = &no
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if got := a.conf.LogJSON; got == nil || !*got {
		t.Errorf("log_json after a reload that turned it off = %v, want true kept", got)
	}

	sawWarn := false
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var obj map[string]string
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("terminal line %q is not JSON: %v", sc.Text(), err)
		}
		if obj["@level"] == "debug" || obj["@level"] == "trace" {
			t.Errorf("line below the INFO level: %q", sc.Text())
		}
		if obj["@level"] == "warn" && strings.HasPrefix(obj["@message"], "Reload cannot change log_json") {
			sawWarn = true
		}
	}
	if !sawWarn {
		t.Errorf("no warning that the reload kept log_json; log:\n%s", logs.String())
	}
}
