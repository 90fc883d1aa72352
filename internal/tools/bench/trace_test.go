package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestStampWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &stampWriter{w: &buf}
	for _, part := range []string{"one\ntw", "o\n", "three\nfour\n"} {
		if n, err := w.Write([]byte(part)); n != len(part) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	re := regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d{3} (one|two|three|four)\n){4}$`)
	if !re.MatchString(buf.String()) {
		t.Errorf("stamped output:\n%s", buf.String())
	}
}

func TestSinceStamp(t *testing.T) {
	start := time.Date(2026, 12, 4, 23, 59, 58, 500e6, time.Local)
	for stamp, want := range map[string]time.Duration{
		"23:59:59.750": 1250 * time.Millisecond,
		"00:00:02.500": 4 * time.Second,
		"23:59:57.500": -time.Second,
	} {
		got, err := sinceStamp(start, stamp)
		if err != nil || got != want {
			t.Errorf("sinceStamp(%s) = %v, %v, want %v", stamp, got, err, want)
		}
	}
	if _, err := sinceStamp(start, "2026/12/04"); err == nil {
		t.Error("sinceStamp of a line without a stamp: no error")
	}
}

func TestKillTrace(t *testing.T) {
	dir := t.TempDir()
	logs := []string{
		"10:00:00.100 2026/12/04 10:00:00 [INFO] memberlist: Suspect node009 has failed, no acks received\n" + // before the kill
			"10:00:02.000 2026/12/04 10:00:02 [INFO] memberlist: Suspect node009 has failed, no acks received\n" +
			"10:00:10.000 2026/12/04 10:00:10 [INFO] memberlist: Marking node009 as failed, suspect timeout reached (2 peer confirmations)\n",
		"10:00:03.500 2026/12/04 10:00:03 [INFO] memberlist: Suspect node009 has failed, no acks received\n" +
			"10:00:04.000 2026/12/04 10:00:04 [INFO] memberlist: Suspect node010 has failed, no acks received\n" +
			"10:00:09.750 2026/12/04 10:00:09 [INFO] memberlist: Marking node009 as failed, suspect timeout reached (1 peer confirmations)\n" +
			"10:00:11.000 2026/12/04 10:00:11 [INFO] memberlist: Suspect node009 has failed, no acks received\n",
	}
	var agents []*Agent
	for i, l := range logs {
		a := &Agent{Dir: filepath.Join(dir, string(rune('a'+i)))}
		if err := os.MkdirAll(a.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(a.Dir, "agent.log"), []byte(l), 0o644); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	start := time.Date(2026, 12, 4, 10, 0, 1, 0, time.Local)
	tr, ok := killTrace(agents, "node009", start)
	if !ok {
		t.Fatal("killTrace: no stamped lines found")
	}
	if want := []float64{1, 2.5, 10}; !equalFloats(tr.Probes, want) {
		t.Errorf("probes = %v, want %v", tr.Probes, want)
	}
	if want := []float64{8.75, 9}; !equalFloats(tr.Timeouts, want) || tr.Confirmations != 1 {
		t.Errorf("timeouts = %v (%d confirmations), want %v (1)", tr.Timeouts, tr.Confirmations, want)
	}
	if got, want := tr.String(), "first failed probe at 1.00s, 2 before the first timeout at 8.75s (1 confirmations)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(agents[0].Dir, "agent.log"), []byte("2026/12/04 10:00:02 [INFO] memberlist: Suspect node009 has failed, no acks received\n"), 0o644)
	os.Remove(filepath.Join(agents[1].Dir, "agent.log"))
	if _, ok := killTrace(agents, "node009", start); ok {
		t.Error("killTrace of unstamped logs: ok")
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-9 || d < -1e-9 {
			return false
		}
	}
	return true
}
