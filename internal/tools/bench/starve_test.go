package bench

import (
	"strconv"
	"strings"
	"testing"
)

// TestStarveRowsKills: the detection row is the median of the kills, of
// the one kill in results written before there were several, and the
// false-failure rows hold the targets.
func TestStarveRowsKills(t *testing.T) {
	phases := func(failed ...int) []StarvePhase {
		var ps []StarvePhase
		for i, f := range failed {
			ps = append(ps, StarvePhase{Share: []float64{0.5, 0.25}[i], FalseFailed: f})
		}
		return ps
	}
	runs := []*StarveResult{
		{Binary: "serf", N: 50, Phases: phases(800, 440), KillSeries: KillSeries{DetectFailed: []float64{8.4}, Kills: []float64{8.4, 9.9, 8.8}}},
		{Binary: "ours", N: 50, Phases: phases(0, 230), KillSeries: KillSeries{DetectFailed: []float64{7, 9.1}, Kills: []float64{9.1, 8.2, 8.7}}},
		{Binary: "serf", N: 100, Phases: phases(6000, 3600), KillSeries: KillSeries{DetectFailed: []float64{9.4}}},
		{Binary: "ours", N: 100, Phases: phases(40, 1700), KillSeries: KillSeries{DetectFailed: []float64{9.6}}},
	}
	rows := map[string]Row{}
	for _, r := range StarveRows([]int{50, 100}, runs) {
		rows[r.Key+"/"+strconv.Itoa(r.N)] = r
	}
	for _, c := range []struct {
		key        string
		ours, serf float64
		met        bool
	}{
		{"starve_detect/50", 8.7, 8.8, true},
		{"starve_detect/100", 9.6, 9.4, false},
		{"starve50_failed/50", 0, 800, true},
		{"starve25_failed/50", 230, 440, false},
		{"starve25_failed/100", 1700, 3600, true},
	} {
		r, ok := rows[c.key]
		if !ok {
			t.Fatalf("no row %s among %v", c.key, rows)
		}
		if r.Ours.V != c.ours || r.Serf.V != c.serf || r.Verdict.Met != c.met {
			t.Errorf("%s: ours %v, serf %v, met %v; want %v, %v, %v", c.key, r.Ours.V, r.Serf.V, r.Verdict.Met, c.ours, c.serf, c.met)
		}
	}
	if got := killsText(runs[1]); got != "9.10, 8.20, 8.70" {
		t.Errorf("kills %q", got)
	}
	if got := killsText(runs[2]); got != "9.40" {
		t.Errorf("one kill %q", got)
	}
}

// TestStarveRowsSerfMissing: when real Serf's cluster never converged or
// never recovered, the rows that compare with it are neither met nor
// missed, and ours' own "none" still meets the false-failure target.
func TestStarveRowsSerfMissing(t *testing.T) {
	runs := []*StarveResult{
		{Binary: "serf", N: 50, Phases: []StarvePhase{{Share: 0.5, FalseFailed: 987}}},
		{Binary: "ours", N: 50, Phases: []StarvePhase{{Share: 0.5, FalseFailed: 129}, {Share: 0.25, FalseFailed: 589}},
			KillSeries: KillSeries{Kills: []float64{8.66, 10.1, 9.03}}},
		{Binary: "serf", N: 100},
		{Binary: "ours", N: 100, Phases: []StarvePhase{{Share: 0.5, FalseFailed: 0}, {Share: 0.25, FalseFailed: 1795}},
			KillSeries: KillSeries{Kills: []float64{10.8}}},
	}
	rows := map[string]Row{}
	for _, r := range StarveRows([]int{50, 100}, runs) {
		rows[r.Key+"/"+strconv.Itoa(r.N)] = r
	}
	for _, c := range []struct {
		key  string
		want string
	}{
		{"starve50_failed/50", "<= 0.5x or none: met"},
		{"starve25_failed/50", "<= 0.5x or none: not compared"},
		{"starve50_failed/100", "<= 0.5x or none: met"},
		{"starve25_failed/100", "<= 0.5x or none: not compared"},
		{"starve_detect/50", "<= 1.0x: not compared"},
		{"starve_detect/100", "<= 1.0x: not compared"},
	} {
		r, ok := rows[c.key]
		if !ok {
			t.Fatalf("no row %s", c.key)
		}
		if got := FormatVerdict(r.Verdict); got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.key, got, c.want)
		}
	}
}

// TestStarveRunsLinesHealed: a quota after which the cluster was whole
// only in the longer wait says so, and one after which it never was says
// that instead.
func TestStarveRunsLinesHealed(t *testing.T) {
	runs := []*StarveResult{{Binary: "serf", N: 50, IdleCPU: 25, BaseCPU: 25, Phases: []StarvePhase{
		{Share: 0.5, QuotaUS: 12500, FalseFailed: 900, Recovered: -1, Healed: 74.2},
		{Share: 0.25, QuotaUS: 6250, FalseFailed: 300, Recovered: 3.5},
	}}, {Binary: "ours", N: 50, Phases: []StarvePhase{
		{Share: 0.5, QuotaUS: 12500, Recovered: -1, Healed: -1},
	}}}
	lines := starveRunsLines(runs)
	for i, want := range []string{
		"not recovered within the wait, whole again after 74.2 s; 25% (quota 6250 us): 300 false failed",
		"0 refutes, throttled 0 periods, never whole again;",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %q does not say %q", i, lines[i], want)
		}
	}
}
