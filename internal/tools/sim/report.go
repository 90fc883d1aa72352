package sim

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Report is everything one `make sim` run measured; it is written as
// docs/benchmarks/sim-results.json.
type Report struct {
	Date         string     `json:"date"`
	Command      string     `json:"command"`
	Machine      Machine    `json:"machine"`
	Scenarios    []Scenario `json:"scenarios"`
	Real         []RealRun  `json:"real"`
	ModelTrials  int        `json:"model_trials"`
	ModelSeconds float64    `json:"model_wall_seconds"`
	Summaries    []Summary  `json:"summaries"`
	Curves       []Curve    `json:"curves"` // pooled CDFs, downsampled, for plots
	Bounds       []Bound    `json:"bounds"`

	trials []Trial // every trial, real and model; raw data is not written
}

// Machine describes where the run happened.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory string `json:"memory"`
	OS     string `json:"os"`
	Go     string `json:"go"`
}

// Curve is the pooled fraction of nodes reached over time for one group.
type Curve struct {
	Source   string    `json:"source"`
	Kind     string    `json:"kind"`
	N        int       `json:"n"`
	Scenario string    `json:"scenario"`
	Seconds  []float64 `json:"seconds"`
	Fraction []float64 `json:"fraction"`
}

// Bound is what theory predicts for a user event in a loss-free network.
type Bound struct {
	N int `json:"n"`
	// EpidemicSeconds is EpidemicRounds x GossipInterval.
	EpidemicRounds  float64 `json:"epidemic_rounds"`
	EpidemicSeconds float64 `json:"epidemic_seconds"`
	// Serf's published model at 50%, 99%, 99.9%.
	SerfModel []float64 `json:"serf_model_seconds"`
	// DetectSeconds is the earliest a failure can be declared after the
	// first probe of the dead node: ProbeInterval + the shortest
	// Lifeguard suspicion timeout.
	DetectSeconds float64 `json:"detect_floor_seconds"`
}

// NewReport gathers the trials into summaries, curves and bounds.
func NewReport(command string, real []RealRun, model []Trial, modelTrials int, modelWall time.Duration) *Report {
	r := &Report{
		Date:         time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Command:      command,
		Machine:      thisMachine(),
		Scenarios:    Scenarios,
		Real:         real,
		ModelTrials:  modelTrials,
		ModelSeconds: modelWall.Seconds(),
	}
	for _, run := range real {
		r.trials = append(r.trials, run.Trials...)
	}
	r.trials = append(r.trials, model...)
	r.Summaries = Summarize(r.trials)
	sizes := map[int]bool{}
	for _, s := range r.Summaries {
		if !sizes[s.N] {
			sizes[s.N] = true
			r.Bounds = append(r.Bounds, newBound(s.N))
		}
		var group []Trial
		for _, t := range r.trials {
			if t.Source == s.Source && t.Kind == s.Kind && t.N == s.N && t.Scenario == s.Scenario {
				group = append(group, t)
			}
		}
		secs, frac := CDF(group)
		c := Curve{Source: s.Source, Kind: s.Kind, N: s.N, Scenario: s.Scenario}
		step := max(1, len(secs)/400)
		for i := 0; i < len(secs); i += step {
			c.Seconds = append(c.Seconds, secs[i])
			c.Fraction = append(c.Fraction, frac[i])
		}
		if len(secs) > 0 {
			c.Seconds = append(c.Seconds, secs[len(secs)-1])
			c.Fraction = append(c.Fraction, frac[len(frac)-1])
		}
		r.Curves = append(r.Curves, c)
	}
	// Real runs keep their raw trials in the JSON; they are small.
	return r
}

func newBound(n int) Bound {
	c := DefaultModelConfig(n, Link{})
	rounds := EpidemicRounds(n, c.GossipNodes)
	b := Bound{
		N:               n,
		EpidemicRounds:  rounds,
		EpidemicSeconds: rounds * c.GossipInterval.Seconds(),
		DetectSeconds:   (c.ProbeInterval + c.SuspicionMin()).Seconds(),
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		b.SerfModel = append(b.SerfModel, SerfModelTime(n, c.GossipNodes, 0, c.GossipInterval, q).Seconds())
	}
	return b
}

func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", kb/(1<<20))
		}
	}
	return m
}

// Table renders the summaries of one kind as a Markdown table, with the
// theoretical figures next to the user event rows.
func (r *Report) Table(kind string) string {
	var b strings.Builder
	b.WriteString("| scenario | N | source | trials | 50% | 99% | 99.9% | 100% | not reached |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.where(func(s Summary) bool { return s.Kind == kind }) {
		fmt.Fprintf(&b, "| %s | %d | %s | %d |", s.Scenario, s.N, s.Source, s.Trials)
		for i := range Quantiles {
			fmt.Fprintf(&b, " %s (%s) |", formatSeconds(s.Mean[i]), formatSeconds(s.Max[i]))
		}
		fmt.Fprintf(&b, " %d |\n", s.Missed)
	}
	return b.String()
}

// where returns the summaries keep selects, in the report's order.
func (r *Report) where(keep func(Summary) bool) []Summary {
	var found []Summary
	for _, s := range r.Summaries {
		if keep(s) {
			found = append(found, s)
		}
	}
	return found
}

// summary finds one summary, if measured.
func (r *Report) summary(source, kind string, n int, scenario string) (Summary, bool) {
	found := r.where(func(s Summary) bool {
		return s.Source == source && s.Kind == kind && s.N == n && s.Scenario == scenario
	})
	if len(found) == 0 {
		return Summary{}, false
	}
	return found[0], true
}

// Validation compares model and real code wherever both ran: the mean of
// each quantile, model minus real.
func (r *Report) Validation() string {
	var b strings.Builder
	b.WriteString("| kind | scenario | N | 50% real / model | 99.9% real / model | 100% real / model |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|\n")
	for _, s := range r.where(func(s Summary) bool { return s.Source == SourceReal }) {
		m, ok := r.summary(SourceModel, s.Kind, s.N, s.Scenario)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %d |", s.Kind, s.Scenario, s.N)
		for _, i := range []int{0, 2, 3} {
			fmt.Fprintf(&b, " %s / %s |", formatSeconds(s.Mean[i]), formatSeconds(m.Mean[i]))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Bounds renders the theoretical figures for the user event.
func (r *Report) BoundsTable() string {
	var b strings.Builder
	b.WriteString("| N | epidemic bound, 100% (rounds / s) | Serf model 50% / 99% / 99.9% | measured 99.9% / 100% (lan) | failure floor (probe + min. suspicion) | measured failure 99.9% (lan) |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|\n")
	for _, bd := range r.Bounds {
		src := SourceReal
		u, ok := r.summary(src, KindUserEvent, bd.N, Scenarios[0].Name)
		if !ok {
			src = SourceModel
			u, _ = r.summary(src, KindUserEvent, bd.N, Scenarios[0].Name)
		}
		f, _ := r.summary(src, KindFailure, bd.N, Scenarios[0].Name)
		get := func(s Summary, i int) string {
			if len(s.Mean) <= i {
				return "-"
			}
			return formatSeconds(s.Mean[i])
		}
		fmt.Fprintf(&b, "| %d | %.1f / %.2f | %.1f / %.1f / %.1f | %s / %s (%s) | %.1f | %s (%s) |\n",
			bd.N, bd.EpidemicRounds, bd.EpidemicSeconds,
			bd.SerfModel[0], bd.SerfModel[1], bd.SerfModel[2],
			get(u, 2), get(u, 3), src, bd.DetectSeconds, get(f, 2), src)
	}
	return b.String()
}

var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 255},
	{R: 0xd6, G: 0x27, B: 0x28, A: 255},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 255},
	{R: 0x94, G: 0x67, B: 0xbd, A: 255},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 255},
	{R: 0x8c, G: 0x56, B: 0x4b, A: 255},
}

// Plot draws the fraction of nodes reached over time in scenario for one
// kind: real code solid, model dashed, Serf's published model dotted.
func (r *Report) Plot(kind, scenario, path string) error {
	p := plot.New()
	what := "user event delivered"
	if kind == KindFailure {
		what = "failure known (member failed)"
	}
	p.Title.Text = fmt.Sprintf("serf: %s, %s network", what, scenario)
	p.X.Label.Text = "seconds since the event"
	p.Y.Label.Text = "fraction of nodes"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	ci := 0
	xmax := 0.0
	sizes := map[int]int{}
	for _, c := range r.Curves {
		if c.Kind != kind || c.Scenario != scenario || len(c.Seconds) == 0 {
			continue
		}
		if _, ok := sizes[c.N]; !ok {
			sizes[c.N] = ci
			ci++
		}
		pts := make(plotter.XYs, 0, len(c.Seconds)+1)
		pts = append(pts, plotter.XY{X: 0, Y: 0})
		for i := range c.Seconds {
			pts = append(pts, plotter.XY{X: c.Seconds[i], Y: c.Fraction[i]})
		}
		xmax = math.Max(xmax, c.Seconds[len(c.Seconds)-1])
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.StepStyle = plotter.PostStep
		line.Color = palette[sizes[c.N]%len(palette)]
		line.Width = vg.Points(1.5)
		if c.Source == SourceModel {
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s, N=%d", c.Source, c.N), line)
	}
	if kind == KindUserEvent {
		sc, _ := ScenarioNamed(scenario)
		for n, idx := range sizes {
			cfg := DefaultModelConfig(n, sc.Link)
			var pts plotter.XYs
			for x := 0.0; x <= 100; x++ {
				t := x * cfg.GossipInterval.Seconds()
				if t > xmax*1.05 {
					break
				}
				pts = append(pts, plotter.XY{X: t, Y: SerfModelFraction(n, cfg.GossipNodes, sc.Link.Loss, x)})
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			line.Color = palette[idx%len(palette)]
			line.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("Serf's model, N=%d", n), line)
		}
	}
	p.Legend.ThumbnailWidth = vg.Points(24)
	p.Legend.YOffs = vg.Points(10)
	p.Legend.XOffs = vg.Points(-10)
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// Markdown is the text between the sim markers of docs/benchmarks.md.
func (r *Report) Markdown(files []string) string {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("Run of %s: `%s`, on %s (%d cores, %s, %s, %s). Raw figures: `docs/benchmarks/sim-results.json`.\n\n",
		r.Date, r.Command, r.Machine.CPU, r.Machine.Cores, r.Machine.Memory, r.Machine.OS, r.Machine.Go)
	for _, run := range r.Real {
		w("- Real code, N = %d: bootstrap %.0f s virtual (%.0f s wall); whole run %.0f s virtual, %.0f s wall; "+
			"live heap of the converged cluster %.0f MiB = %.0f KiB per node = %.0f B per node pair; %d goroutines; %d packets, %d streams.\n",
			run.N, run.BootstrapVirtual, run.BootstrapWall, run.Virtual, run.Wall,
			float64(run.HeapBytes)/(1<<20), run.BytesPerNode/1024, run.BytesPerNode/float64(run.N),
			run.Goroutines, run.Network.Sent, run.Network.Streams)
	}
	if len(r.Real) > 0 {
		big := r.Real[len(r.Real)-1]
		perPair := big.BytesPerNode / float64(big.N)
		modelOnly := r.where(func(s Summary) bool {
			return s.N > big.N && s.Source == SourceModel && s.Kind == KindUserEvent && s.Scenario == Scenarios[0].Name
		})
		for _, s := range modelOnly {
			w("- Real code at N = %d would need about %.0f GiB of live heap (%.0f B per node pair x %d^2), more than this machine's %s: that size runs as the model only.\n",
				s.N, perPair*float64(s.N)*float64(s.N)/(1<<30), perPair, s.N, r.Machine.Memory)
		}
	}
	w("- Model: %d trials per size, scenario and kind; %.0f s wall for all of them.\n\n", r.ModelTrials, r.ModelSeconds)
	w("Network scenarios (every node pair alike):\n\n")
	for _, s := range r.Scenarios {
		w("- `%s`: %s\n", s.Name, s.Link)
	}
	w("\nCells are seconds from the event (the `UserEvent` call, or the victim going silent) until the given share of the nodes has it: mean over trials, worst trial in brackets. \"not reached\" counts nodes missed at the end of a trial (30 s for events, 180 s for failures), over all trials.\n\n")
	w("### User event: time until delivered\n\n%s\n", r.Table(KindUserEvent))
	w("### Failure: time until the member is `failed` on every other node\n\n%s\n", r.Table(KindFailure))
	w("### Against theory (lan scenario)\n\n%s\n", r.BoundsTable())
	w("### Model against real code\n\n%s\n", r.Validation())
	for _, f := range files {
		w("![%s](benchmarks/%s)\n\n", strings.TrimSuffix(f, ".png"), f)
	}
	b.WriteString(methodText)
	return b.String()
}

// ReplaceRegion rewrites the text between the sim markers of doc.
func ReplaceRegion(doc, body string) (string, error) {
	const start, end = "<!-- sim:start -->", "<!-- sim:end -->"
	i := strings.Index(doc, start)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %q and %q not found in order", start, end)
	}
	return doc[:i+len(start)] + "\n" + body + doc[j:], nil
}
