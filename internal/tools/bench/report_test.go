package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReplaceRegion(t *testing.T) {
	page := "# Benchmarks\n\nintro\n\n<!-- bench:start -->\nold\ntable\n<!-- bench:end -->\n\n## Sim\n\n<!-- sim:start -->\nsim stuff\n<!-- sim:end -->\n"
	got, err := ReplaceRegion([]byte(page), "new table\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nintro\n\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\n\n## Sim\n\n<!-- sim:start -->\nsim stuff\n<!-- sim:end -->\n"
	if string(got) != want {
		t.Errorf("ReplaceRegion =\n%s\nwant\n%s", got, want)
	}
	if _, err := ReplaceRegion([]byte("no markers"), "x"); err == nil {
		t.Error("ReplaceRegion without markers: no error")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(md, []byte("intro\n<!-- bench:start -->\n<!-- bench:end -->\nrest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := &Report{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Kernel: "6.1", Go: "go1.26"},
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Ns:      []int{10, 200}, Runs: 1, Flags: "serf-bench -quick",
		OursSize: 16 << 20, SerfSize: 15 << 20,
		Results: sampleRuns(),
	}
	rep.Results[0].Errors = []string{"node003 join: boom"}
	rep.Finish()
	out := filepath.Join(dir, "benchmarks")
	if err := rep.Write(out, md); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for _, f := range []string{"results.json", "convergence_last.png", "binary_size.png"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	page, _ := os.ReadFile(md)
	for _, want := range []string{"intro\n<!-- bench:start -->\nRun of 2025-01-02 03:04 UTC", "Test CPU, 2 cores, Linux 6.1, go1.26",
		"| join: last agent sees all | 200 |", "- ours N=10 run 1: node003 join: boom",
		"![convergence_last](benchmarks/convergence_last.png)", "<!-- bench:end -->\nrest\n"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}

func TestParseHandlerLine(t *testing.T) {
	data := []byte("ev12-0 1700000000000000001\nev12-1 1700000000500000000\ngarbage\nev12-2 x\n")
	if got, ok := ParseHandlerLine(data, "ev12-1"); !ok || got.UnixNano() != 1700000000500000000 {
		t.Errorf("ParseHandlerLine(ev12-1) = %v, %v, want 1700000000.5 s", got.UnixNano(), ok)
	}
	for _, p := range []string{"ev12-2", "ev12-3", "ev12"} {
		if got, ok := ParseHandlerLine(data, p); ok {
			t.Errorf("ParseHandlerLine(%s) = %v, want not found", p, got)
		}
	}
}

func TestParseCounts(t *testing.T) {
	stats := map[string]map[string]string{
		"agent": {"name": "node000"},
		"serf": {"members": "12", "failed": "1", "left": "2", "health_score": "3",
			"intent_queue": "1", "event_queue": "4", "query_queue": "0"},
	}
	c, ok := ParseCounts(stats)
	want := Counts{Members: 12, Failed: 1, Left: 2, Health: 3, Queued: 5}
	if !ok || c != want || c.Alive() != 9 {
		t.Errorf("ParseCounts = %+v, %v, want %+v (9 alive)", c, ok, want)
	}
	delete(stats["serf"], "health_score")
	delete(stats["serf"], "event_queue")
	if c, ok := ParseCounts(stats); !ok || c.Health != 0 || c.Queued != 1 {
		t.Errorf("ParseCounts without health and event queue = %+v, %v, want health 0, 1 queued", c, ok)
	}
	delete(stats["serf"], "left")
	if c, ok := ParseCounts(stats); ok {
		t.Errorf("ParseCounts without left = %+v, want not ok", c)
	}
}

func TestSummarizeHealth(t *testing.T) {
	got := summarizeHealth([]Counts{{Health: 0}, {Health: 2}, {Health: 0}, {Health: 6}})
	want := HealthSummary{Mean: 2, Max: 6, Degraded: 2}
	if got != want {
		t.Errorf("summarizeHealth = %+v, want %+v", got, want)
	}
	if got := summarizeHealth(nil); got != (HealthSummary{}) {
		t.Errorf("summarizeHealth(nil) = %+v, want zero", got)
	}
}
