package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Value is one figure of one binary at one N: V in the figure's unit
// (NaN when there is nothing to show), and Note, which explains a missing
// or partial figure ("not converged: 164/200").
type Value struct {
	V    float64 `json:"value"`
	Note string  `json:"note,omitempty"`
}

// Spec defines a figure: how to get it from the runs of one binary at one
// N, and the target ours must meet, if any.
type Spec struct {
	Key   string // file name of the plot and JSON key
	Title string
	Unit  string // "s", "ms", "MiB", "%", "/s"
	// Get reduces the runs of one binary at one N (never empty) to a
	// value.
	Get func(runs []*RunResult) Value
	// Target, when set, says what ours must achieve at N.
	Target func(n int, ours, serf Value) Verdict

	// Ours and Serf name the binaries of the two columns when they are
	// not "ours" and "serf" (OursHTTP against "ours": what the HTTP
	// listener costs); GetSerf, when set, reduces the second column's
	// runs instead of Get (our HTTP API beside Serf's RPC).
	Ours, Serf string
	GetSerf    func(runs []*RunResult) Value
}

// Verdict is a target's outcome for one row. Goal is empty when the row
// has no target.
type Verdict struct {
	Goal string `json:"goal,omitempty"` // "<= 1.0x", "<= 5 s"
	Met  bool   `json:"met"`
	// Uncompared is set when the goal is a comparison with real Serf
	// and Serf's figure is missing (its cluster never got that far):
	// neither met nor missed.
	Uncompared bool `json:"uncompared,omitempty"`
}

// Row is one line of the table.
type Row struct {
	Key     string  `json:"key"`
	Title   string  `json:"title"`
	Unit    string  `json:"unit"`
	N       int     `json:"n"` // 0 for figures that do not depend on N
	Ours    Value   `json:"ours"`
	Serf    Value   `json:"serf"`
	Ratio   float64 `json:"ratio"` // ours/serf; NaN when either is missing
	Verdict Verdict `json:"verdict"`
}

// Ratio returns ours/serf, or NaN when either is not a positive number.
func Ratio(ours, serf Value) float64 {
	if math.IsNaN(ours.V) || math.IsNaN(serf.V) || serf.V <= 0 || ours.V < 0 {
		return math.NaN()
	}
	return ours.V / serf.V
}

// MaxRatio is a target: ours/serf at most limit, with ours complete (no
// note: no lost events, no agent that never saw a failure). A missing
// ratio is met only when ours has a value and real Serf has none, which
// happens when real Serf failed where ours did not.
func MaxRatio(limit float64) func(int, Value, Value) Verdict {
	return func(_ int, ours, serf Value) Verdict {
		v := Verdict{Goal: "<= " + strconv.FormatFloat(limit, 'f', max(1, decimals(limit)), 64) + "x"}
		r := Ratio(ours, serf)
		switch {
		case !math.IsNaN(r):
			// Compared as printed, so that "1.00x" never misses "<= 1.0x".
			v.Met = math.Round(r*100)/100 <= limit && ours.Note == ""
		default:
			v.Met = !math.IsNaN(ours.V) && ours.Note == "" && math.IsNaN(serf.V)
		}
		return v
	}
}

// decimals is how many decimals limit needs (1.05: 2), at most 2.
func decimals(limit float64) int {
	for d := 0; d < 2; d++ {
		p := math.Pow(10, float64(d))
		if math.Round(limit*p) == limit*p {
			return d
		}
	}
	return 2
}

// AtMost is a target on ours alone: at most limit (in the figure's unit),
// at the listed N only.
func AtMost(limit float64, unit string, ns ...int) func(int, Value, Value) Verdict {
	return func(n int, ours, _ Value) Verdict {
		if !slices.Contains(ns, n) {
			return Verdict{}
		}
		return Verdict{
			Goal: fmt.Sprintf("<= %s", formatNumber(limit, unit)),
			Met:  !math.IsNaN(ours.V) && ours.Note == "" && ours.V <= limit,
		}
	}
}

// Either applies the first of targets that has a goal at n.
func Either(targets ...func(int, Value, Value) Verdict) func(int, Value, Value) Verdict {
	return func(n int, ours, serf Value) Verdict {
		for _, t := range targets {
			if v := t(n, ours, serf); v.Goal != "" {
				return v
			}
		}
		return Verdict{}
	}
}

// Converges is the target that every run of ours converged, at the
// listed N.
func Converges(ns ...int) func(int, Value, Value) Verdict {
	return func(n int, ours, _ Value) Verdict {
		if !slices.Contains(ns, n) {
			return Verdict{}
		}
		return Verdict{Goal: "converges", Met: !math.IsNaN(ours.V) && ours.Note == ""}
	}
}

// NewRow computes the row of spec at n from each binary's runs.
func NewRow(spec *Spec, n int, ours, serf []*RunResult) Row {
	row := Row{Key: spec.Key, Title: spec.Title, Unit: spec.Unit, N: n,
		Ours: missing("no run"), Serf: missing("no run")}
	if len(ours) > 0 {
		row.Ours = spec.Get(ours)
	}
	if len(serf) > 0 {
		get := spec.Get
		if spec.GetSerf != nil {
			get = spec.GetSerf
		}
		row.Serf = get(serf)
	}
	row.Ratio = Ratio(row.Ours, row.Serf)
	if spec.Target != nil {
		row.Verdict = spec.Target(n, row.Ours, row.Serf)
	}
	return row
}

func missing(note string) Value { return Value{V: math.NaN(), Note: note} }

// pooled gathers one list from every run and reduces it with f.
func pooled(get func(*RunResult) []float64, f func([]float64) float64) func([]*RunResult) Value {
	return func(runs []*RunResult) Value {
		var all []float64
		for _, r := range runs {
			all = append(all, get(r)...)
		}
		if len(all) == 0 {
			return missing("not measured")
		}
		return Value{V: f(all)}
	}
}

// perRun reduces each run's list with f, then takes the median across
// runs.
func perRun(get func(*RunResult) []float64, f func([]float64) float64) func([]*RunResult) Value {
	return func(runs []*RunResult) Value {
		var vs []float64
		for _, r := range runs {
			if xs := get(r); len(xs) > 0 {
				vs = append(vs, f(xs))
			}
		}
		if len(vs) == 0 {
			return missing("not measured")
		}
		return Value{V: Median(vs)}
	}
}

// withShortfall adds a note to a value when some runs counted failures.
func withShortfall(get func([]*RunResult) Value, count func(*RunResult) int, what string) func([]*RunResult) Value {
	return func(runs []*RunResult) Value {
		v := get(runs)
		n := 0
		for _, r := range runs {
			n += count(r)
		}
		if n > 0 && v.Note == "" {
			v.Note = fmt.Sprintf("%d %s", n, what)
		}
		return v
	}
}

// convergence reduces the agents' convergence times with f; when a run
// did not converge, the value is missing and the note tells how far the
// worst run got.
func convergence(f func([]float64) float64) func([]*RunResult) Value {
	ok := perRun(func(r *RunResult) []float64 { return r.Converge }, f)
	return func(runs []*RunResult) Value {
		failed, worst := 0, -1
		for _, r := range runs {
			if !r.Converged {
				failed++
				if worst < 0 || r.WorstSeen < worst {
					worst = r.WorstSeen
				}
			}
		}
		if failed == 0 {
			return ok(runs)
		}
		return missing(fmt.Sprintf("not converged in %d/%d runs (worst %d/%d)",
			failed, len(runs), worst, runs[0].N))
	}
}

// Specs lists the figures that depend on N, in table order.
func Specs() []*Spec {
	return []*Spec{
		{Key: "convergence_median", Title: "join: median agent sees all", Unit: "s",
			Get: convergence(Median)},
		{Key: "convergence_last", Title: "join: last agent sees all", Unit: "s",
			Get:    convergence(Max),
			Target: Either(AtMost(5, "s", 50, 100), Converges(200))},
		{Key: "event_p50", Title: "user event to all handlers, median", Unit: "s",
			Get:    withShortfall(pooled(func(r *RunResult) []float64 { return r.Events }, Median), func(r *RunResult) int { return r.EventsMissing }, "events lost"),
			Target: MaxRatio(1.0)},
		{Key: "event_p99", Title: "user event to all handlers, p99", Unit: "s",
			Get:    withShortfall(pooled(func(r *RunResult) []float64 { return r.Events }, func(xs []float64) float64 { return Percentile(xs, 99) }), func(r *RunResult) int { return r.EventsMissing }, "events lost"),
			Target: MaxRatio(1.0)},
		{Key: "detect_failed", Title: "kill -9 seen failed by all (median of kills)", Unit: "s",
			Get:    withShortfall(pooled(func(r *RunResult) []float64 { return r.killTimes() }, Median), func(r *RunResult) int { return r.MissingFailed }, "agents never saw it"),
			Target: MaxRatio(1.0)},
		{Key: "detect_left", Title: "leave seen left by all", Unit: "s",
			Get:    withShortfall(perRun(func(r *RunResult) []float64 { return r.DetectLeft }, Max), func(r *RunResult) int { return r.MissingLeft }, "agents never saw it"),
			Target: MaxRatio(1.0)},
		{Key: "query_acks", Title: "query: all acks in", Unit: "s",
			Get: withShortfall(pooled(func(r *RunResult) []float64 { return r.QueryAcks }, Median), func(r *RunResult) int { return r.QueriesShort }, "queries short of acks")},
		{Key: "query_end", Title: "serf query: time to its end", Unit: "s",
			Get: withShortfall(pooled(func(r *RunResult) []float64 { return r.QueryEnd }, Median), func(r *RunResult) int { return r.QueryEndsShort }, "queries short of answers")},
		{Key: "members_rpc", Title: "RPC members latency, median", Unit: "ms",
			Get: pooled(func(r *RunResult) []float64 { return scale(r.MembersRPC, 1000) }, Median)},
		{Key: "rpc_event_rate", Title: "RPC user events per second", Unit: "/s",
			Get: perRun(func(r *RunResult) []float64 { return nonZero(r.EventRate) }, Median)},
		{Key: "members_http", Title: "HTTP members latency, median (real Serf: its RPC)", Unit: "ms",
			Ours: OursHTTP, Get: pooled(func(r *RunResult) []float64 { return scale(r.MembersHTTP, 1000) }, Median),
			GetSerf: pooled(func(r *RunResult) []float64 { return scale(r.MembersRPC, 1000) }, Median)},
		{Key: "http_event_rate", Title: "HTTP user events per second (real Serf: its RPC)", Unit: "/s",
			Ours: OursHTTP, Get: perRun(func(r *RunResult) []float64 { return nonZero(r.HTTPEventRate) }, Median),
			GetSerf: perRun(func(r *RunResult) []float64 { return nonZero(r.EventRate) }, Median)},
		{Key: "rss_idle_http", Title: "idle private memory with -http-addr (real Serf: ours without)", Unit: "MiB",
			Ours: OursHTTP, Serf: "ours", Get: perRun(func(r *RunResult) []float64 { return r.RSSIdle }, Median), Target: MaxRatio(1.05)},
		{Key: "cpu_idle_http", Title: "idle CPU with -http-addr (real Serf: ours without)", Unit: "%",
			Ours: OursHTTP, Serf: "ours", Get: perRun(func(r *RunResult) []float64 { return r.CPUIdle }, Mean), Target: MaxRatio(1.05)},
		{Key: "rss_ui_page", Title: "idle private memory, open UI page (real Serf: agent without)", Unit: "MiB",
			Ours: OursHTTP, Serf: OursHTTP, Get: perRun(func(r *RunResult) []float64 { return r.RSSUIPage }, Median),
			GetSerf: perRun(func(r *RunResult) []float64 { return r.RSSUINone }, Median)},
		{Key: "cpu_ui_page", Title: "idle CPU, open UI page (real Serf: agent without)", Unit: "%",
			Ours: OursHTTP, Serf: OursHTTP, Get: perRun(func(r *RunResult) []float64 { return r.CPUUIPage }, Mean),
			GetSerf: perRun(func(r *RunResult) []float64 { return r.CPUUINone }, Mean)},
		{Key: "rss_idle", Title: "private memory (RssAnon) per agent, median, idle", Unit: "MiB",
			Get: perRun(func(r *RunResult) []float64 { return r.RSSIdle }, Median), Target: MaxRatio(0.6)},
		{Key: "rss_load", Title: "private memory (RssAnon) per agent, median, event load", Unit: "MiB",
			Get: perRun(func(r *RunResult) []float64 { return r.RSSLoad }, Median), Target: MaxRatio(0.6)},
		{Key: "cpu_idle", Title: "CPU per agent (mean), idle", Unit: "%",
			Get: perRun(func(r *RunResult) []float64 { return r.CPUIdle }, Mean), Target: MaxRatio(0.6)},
		{Key: "cpu_load", Title: "CPU per agent (mean), event load", Unit: "%",
			Get: perRun(func(r *RunResult) []float64 { return r.CPULoad }, Mean), Target: MaxRatio(0.6)},
		{Key: "startup", Title: "start-up (exec to RPC answering), median", Unit: "ms",
			Get: pooled(func(r *RunResult) []float64 { return scale(r.Startup, 1000) }, Median)},
	}
}

func scale(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}

func nonZero(x float64) []float64 {
	if x == 0 {
		return nil
	}
	return []float64{x}
}

// Rows builds the table: every spec at every N, figure by figure, then
// the binary size (N 0).
func Rows(ns []int, runs []*RunResult, oursSize, serfSize int64) []Row {
	var rows []Row
	for _, spec := range Specs() {
		for _, n := range ns {
			ours, serf := cmp.Or(spec.Ours, "ours"), cmp.Or(spec.Serf, "serf")
			rows = append(rows, NewRow(spec, n, selectRuns(runs, ours, n), selectRuns(runs, serf, n)))
		}
	}
	size := Row{Key: "binary_size", Title: "binary size", Unit: "MiB",
		Ours: sizeValue(oursSize), Serf: sizeValue(serfSize)}
	size.Ratio = Ratio(size.Ours, size.Serf)
	return append(rows, size)
}

func sizeValue(bytes int64) Value {
	if bytes <= 0 {
		return missing("unknown")
	}
	return Value{V: float64(bytes) / (1 << 20)}
}

func selectRuns(runs []*RunResult, binary string, n int) []*RunResult {
	var out []*RunResult
	for _, r := range runs {
		if r.Binary == binary && r.N == n {
			out = append(out, r)
		}
	}
	return out
}
