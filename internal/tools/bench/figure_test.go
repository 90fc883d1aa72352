package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func val(v float64) Value { return Value{V: v} }

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		ours, serf Value
		want       float64
	}{
		{val(1), val(2), 0.5},
		{val(3), val(2), 1.5},
		{val(0), val(2), 0},
		{val(1), val(0), math.NaN()},
		{missing("x"), val(2), math.NaN()},
		{val(1), missing("x"), math.NaN()},
	} {
		got := Ratio(tc.ours, tc.serf)
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tc.ours.V, tc.serf.V, got, tc.want)
		}
	}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name       string
		target     func(int, Value, Value) Verdict
		n          int
		ours, serf Value
		want       Verdict
	}{
		{"ratio met", MaxRatio(1), 10, val(1), val(1), Verdict{Goal: "<= 1.0x", Met: true}},
		{"ratio missed", MaxRatio(1), 10, val(1.01), val(1), Verdict{Goal: "<= 1.0x", Met: false}},
		{"ratio met as printed", MaxRatio(1), 10, val(8.57), val(8.56), Verdict{Goal: "<= 1.0x", Met: true}},
		{"ratio 0.6 met", MaxRatio(0.6), 10, val(3), val(5), Verdict{Goal: "<= 0.6x", Met: true}},
		{"ratio 0.6 missed", MaxRatio(0.6), 10, val(4), val(5), Verdict{Goal: "<= 0.6x", Met: false}},
		{"ratio 1.05 met", MaxRatio(1.05), 10, val(4.2), val(4), Verdict{Goal: "<= 1.05x", Met: true}},
		{"ratio 1.05 missed", MaxRatio(1.05), 10, val(4.3), val(4), Verdict{Goal: "<= 1.05x", Met: false}},
		{"serf failed, ours fine", MaxRatio(1), 10, val(4), missing("no"), Verdict{Goal: "<= 1.0x", Met: true}},
		{"both failed", MaxRatio(1), 10, missing("no"), missing("no"), Verdict{Goal: "<= 1.0x", Met: false}},
		{"ours partial", MaxRatio(1), 10, Value{V: 1, Note: "1 events lost"}, missing("no"), Verdict{Goal: "<= 1.0x", Met: false}},
		{"at most met", AtMost(5, "s", 50, 100), 50, val(4.9), val(70), Verdict{Goal: "<= 5.00 s", Met: true}},
		{"at most missed", AtMost(5, "s", 50, 100), 100, val(5.1), val(1), Verdict{Goal: "<= 5.00 s", Met: false}},
		{"at most other N", AtMost(5, "s", 50, 100), 10, val(9), val(1), Verdict{}},
		{"converges", Converges(200), 200, val(30), missing("no"), Verdict{Goal: "converges", Met: true}},
		{"does not converge", Converges(200), 200, missing("no convergence"), val(1), Verdict{Goal: "converges", Met: false}},
		{"either first", Either(AtMost(5, "s", 50), Converges(200)), 50, val(6), val(1), Verdict{Goal: "<= 5.00 s", Met: false}},
		{"either second", Either(AtMost(5, "s", 50), Converges(200)), 200, val(6), val(1), Verdict{Goal: "converges", Met: true}},
		{"either none", Either(AtMost(5, "s", 50), Converges(200)), 10, val(6), val(1), Verdict{}},
	} {
		if got := tc.target(tc.n, tc.ours, tc.serf); got != tc.want {
			t.Errorf("%s: verdict = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// sampleRuns is a small made-up run: N=10 both converged, N=200 real
// Serf did not.
func sampleRuns() []*RunResult {
	return []*RunResult{
		{Binary: "ours", N: 10, Startup: []float64{0.008, 0.010}, Converge: []float64{0.1, 0.2, 0.4}, Converged: true, WorstSeen: 10,
			Events: []float64{0.2, 0.3, 0.25}, QueryAcks: []float64{0.1}, QueryEnd: []float64{0.2, 0.3, 6.4}, QueryEndsShort: 1, MembersRPC: []float64{0.0001}, EventRate: 9000,
			RSSIdle: []float64{4, 4.2}, RSSLoad: []float64{5, 5}, CPUIdle: []float64{0.1, 0.3}, CPULoad: []float64{0.5, 0.7},
			KillSeries: KillSeries{DetectFailed: []float64{5, 6.2}}, DetectLeft: []float64{0.5, 0.7}},
		{Binary: "serf", N: 10, Startup: []float64{0.020}, Converge: []float64{0.1, 0.3, 0.6}, Converged: true, WorstSeen: 10,
			Events: []float64{0.2, 0.4}, QueryAcks: []float64{0.2}, QueryEnd: []float64{6.4, 6.4}, MembersRPC: []float64{0.0001}, EventRate: 10000,
			RSSIdle: []float64{6.6}, RSSLoad: []float64{7}, CPUIdle: []float64{0.3}, CPULoad: []float64{1},
			KillSeries: KillSeries{DetectFailed: []float64{6.2}}, DetectLeft: []float64{0.9}},
		{Binary: OursHTTP, N: 10, Converge: []float64{0.1, 0.2, 0.4}, Converged: true, WorstSeen: 10,
			MembersHTTP: []float64{0.0002}, HTTPEventRate: 7000, RSSIdle: []float64{4.1, 4.2}, CPUIdle: []float64{0.2, 0.3}},
		{Binary: "ours", N: 200, Converge: []float64{1, 2, 4.5}, Converged: true, WorstSeen: 200,
			Events: []float64{0.9}, EventsMissing: 1, KillSeries: KillSeries{DetectFailed: []float64{9}, MissingFailed: 2}},
		{Binary: "serf", N: 200, Converge: []float64{1, 2}, Converged: false, WorstSeen: 164,
			Events: []float64{0.8}, KillSeries: KillSeries{DetectFailed: []float64{10}}},
	}
}

func TestRows(t *testing.T) {
	rows := Rows([]int{10, 200}, sampleRuns(), 16<<20, 15<<20)
	if got, want := len(rows), 2*len(Specs())+1; got != want {
		t.Fatalf("len(Rows) = %d, want %d", got, want)
	}
	find := func(key string, n int) Row {
		for _, r := range rows {
			if r.Key == key && r.N == n {
				return r
			}
		}
		t.Fatalf("no row %s N=%d", key, n)
		return Row{}
	}
	if r := find("convergence_last", 10); r.Ours.V != 0.4 || r.Serf.V != 0.6 {
		t.Errorf("convergence_last N=10 = %v/%v, want 0.4/0.6", r.Ours.V, r.Serf.V)
	}
	r := find("convergence_last", 200)
	if !math.IsNaN(r.Serf.V) || r.Serf.Note != "not converged in 1/1 runs (worst 164/200)" {
		t.Errorf("convergence_last N=200 serf = %+v, want the no-convergence note", r.Serf)
	}
	if r.Verdict != (Verdict{Goal: "converges", Met: true}) {
		t.Errorf("convergence_last N=200 verdict = %+v, want converges, met", r.Verdict)
	}
	if r := find("event_p50", 200); r.Ours.Note != "1 events lost" || r.Verdict.Met {
		t.Errorf("event_p50 N=200 = %+v, want the lost note and a miss", r)
	}
	if r := find("cpu_idle", 10); r.Ours.V != 0.2 || math.Abs(r.Ratio-0.2/0.3) > 1e-9 || r.Verdict.Met {
		t.Errorf("cpu_idle N=10 = %+v, want mean 0.2, ratio 0.67, missed", r)
	}
	if r := find("query_end", 10); r.Ours.V != 0.3 || r.Ours.Note != "1 queries short of answers" || r.Serf.V != 6.4 {
		t.Errorf("query_end N=10 = %+v / %+v, want median 0.3 with the short note, and 6.4", r.Ours, r.Serf)
	}
	if r := find("members_rpc", 10); r.Ours.V != 0.1 {
		t.Errorf("members_rpc N=10 = %v ms, want 0.1", r.Ours.V)
	}
	if r := find("members_http", 10); r.Ours.V != 0.2 || r.Serf.V != 0.1 {
		t.Errorf("members_http N=10 = %v/%v ms, want ours' HTTP 0.2 beside Serf's RPC 0.1", r.Ours.V, r.Serf.V)
	}
	if r := find("rss_idle_http", 10); r.Ours.V != 4.15 || r.Serf.V != 4.1 || !r.Verdict.Met {
		t.Errorf("rss_idle_http N=10 = %+v, want 4.15 with HTTP beside 4.1 without, met", r)
	}
	if r := find("cpu_idle_http", 10); r.Verdict.Met {
		t.Errorf("cpu_idle_http N=10 = %+v, want 0.25 against 0.2, missed", r)
	}
	if r := find("rss_idle", 200); !math.IsNaN(r.Ours.V) || r.Ours.Note != "not measured" {
		t.Errorf("rss_idle N=200 ours = %+v, want not measured", r.Ours)
	}
	last := rows[len(rows)-1]
	if last.Key != "binary_size" || last.Ours.V != 16 || last.Serf.V != 15 {
		t.Errorf("last row = %+v, want binary size 16 vs 15 MiB", last)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestTables(t *testing.T) {
	rows := Rows([]int{10, 200}, sampleRuns(), 16<<20, 15<<20)
	var text, md bytes.Buffer
	if err := WriteTable(&text, rows); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", text.Bytes())
	if err := WriteMarkdownTable(&md, rows); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.md.golden", md.Bytes())
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		unit string
		want string
	}{
		{val(0.0523), "s", "0.052 s"},
		{val(6.234), "s", "6.23 s"},
		{val(70.14), "s", "70.1 s"},
		{val(130.4), "s", "130 s"},
		{val(4.75), "MiB", "4.75 MiB"},
		{val(0.333), "%", "0.33 %"},
		{val(9001.4), "/s", "9001 /s"},
		{missing("no run"), "s", "no run"},
		{Value{V: 1.5, Note: "2 events lost"}, "s", "1.50 s (2 events lost)"},
	} {
		if got := FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%+v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
	if got := FormatRatio(0.514); got != "0.51x" {
		t.Errorf("FormatRatio(0.514) = %q, want 0.51x", got)
	}
	if got := FormatRatio(math.NaN()); got != "-" {
		t.Errorf("FormatRatio(NaN) = %q, want -", got)
	}
	if got := FormatVerdict(Verdict{Goal: "<= 1.0x", Met: false}); got != "<= 1.0x: MISSED" {
		t.Errorf("FormatVerdict = %q", got)
	}
}

func TestRowJSON(t *testing.T) {
	rows := Rows([]int{200}, sampleRuns(), 0, 15<<20)
	data, err := json.Marshal(rows)
	if err != nil {
		t.Fatalf("json.Marshal(rows): %v", err)
	}
	if !strings.Contains(string(data), `"ratio":null`) || !strings.Contains(string(data), `"value":null`) {
		t.Errorf("missing figures are not null in %s", data)
	}
	var back []struct {
		Key  string
		Ours Value
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	if len(back) != len(rows) || !math.IsNaN(back[len(back)-1].Ours.V) {
		t.Errorf("round trip lost the missing binary size: %+v", back[len(back)-1])
	}
}
