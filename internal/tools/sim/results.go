package sim

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scenario is a named set of network conditions.
type Scenario struct {
	Name string `json:"name"`
	Link Link   `json:"-"`
	// DelayMS, JitterMS and LossPct restate Link for the JSON output.
	DelayMS  float64 `json:"delay_ms"`
	JitterMS float64 `json:"jitter_ms"`
	LossPct  float64 `json:"loss_pct"`
}

func scenario(name string, l Link) Scenario {
	return Scenario{
		Name: name, Link: l,
		DelayMS:  float64(l.Delay) / 1e6,
		JitterMS: float64(l.Jitter) / 1e6,
		LossPct:  l.Loss * 100,
	}
}

// Scenarios are the network conditions every measurement runs under:
// a quiet LAN, a 10ms network, and the same with 5% packet loss.
var Scenarios = []Scenario{
	scenario("lan", Link{Delay: time.Millisecond}),
	scenario("10ms", Link{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond}),
	scenario("10ms+5%loss", Link{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.05}),
}

// ScenarioNamed returns the scenario called name.
func ScenarioNamed(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Kinds of measurement.
const (
	KindUserEvent = "user-event"
	KindFailure   = "failure"
)

// Sources of a result.
const (
	SourceReal  = "real"
	SourceModel = "model"
)

// Trial is one measured dissemination.
type Trial struct {
	Source   string    `json:"source"`
	Kind     string    `json:"kind"`
	N        int       `json:"n"`
	Scenario string    `json:"scenario"`
	Total    int       `json:"total"`   // nodes that should be reached
	Seconds  []float64 `json:"seconds"` // time to each reached node, sorted
}

// NewTrial converts a Spread.
func NewTrial(source, kind string, n int, scenario string, s Spread) Trial {
	t := Trial{Source: source, Kind: kind, N: n, Scenario: scenario, Total: s.Total}
	for _, d := range s.Latencies {
		t.Seconds = append(t.Seconds, d.Seconds())
	}
	return t
}

// Quantiles are the levels reported in tables.
var Quantiles = []float64{0.5, 0.99, 0.999, 1}

// quantile is the time by which fraction q of the trial's nodes were
// reached, or NaN if they never were.
func (t Trial) quantile(q float64) float64 {
	need := int(math.Ceil(q*float64(t.Total) - 1e-9))
	if need < 1 {
		need = 1
	}
	if need > len(t.Seconds) {
		return math.NaN()
	}
	return t.Seconds[need-1]
}

// Summary aggregates the trials of one source, kind, N and scenario: the
// mean over trials of each quantile, and the worst trial's.
type Summary struct {
	Source   string    `json:"source"`
	Kind     string    `json:"kind"`
	N        int       `json:"n"`
	Scenario string    `json:"scenario"`
	Trials   int       `json:"trials"`
	Mean     []float64 `json:"mean_seconds"` // per Quantiles; NaN encoded as -1
	Max      []float64 `json:"max_seconds"`
	Missed   int       `json:"missed"` // nodes never reached, over all trials
}

// Summarize groups trials and summarises each group, in a stable order.
func Summarize(trials []Trial) []Summary {
	type key struct {
		source, kind, scenario string
		n                      int
	}
	groups := map[key][]Trial{}
	var keys []key
	for _, t := range trials {
		k := key{t.Source, t.Kind, t.Scenario, t.N}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
	}
	var out []Summary
	for _, k := range keys {
		g := groups[k]
		s := Summary{Source: k.source, Kind: k.kind, N: k.n, Scenario: k.scenario, Trials: len(g)}
		for _, q := range Quantiles {
			sum, worst, ok := 0.0, 0.0, true
			for _, t := range g {
				v := t.quantile(q)
				if math.IsNaN(v) {
					ok = false
					break
				}
				sum += v
				worst = math.Max(worst, v)
			}
			if !ok {
				s.Mean = append(s.Mean, -1)
				s.Max = append(s.Max, -1)
				continue
			}
			s.Mean = append(s.Mean, sum/float64(len(g)))
			s.Max = append(s.Max, worst)
		}
		for _, t := range g {
			s.Missed += t.Total - len(t.Seconds)
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind > b.Kind // user-event first
		}
		if a.Scenario != b.Scenario {
			return scenarioIndex(a.Scenario) < scenarioIndex(b.Scenario)
		}
		if a.N != b.N {
			return a.N < b.N
		}
		return a.Source > b.Source // real first
	})
	return out
}

func scenarioIndex(name string) int {
	for i, s := range Scenarios {
		if s.Name == name {
			return i
		}
	}
	return len(Scenarios)
}

// CDF pools trials into one curve: at each time, the mean over trials of
// the fraction of nodes reached.
func CDF(trials []Trial) (secs, frac []float64) {
	type pt struct{ t, w float64 }
	var pts []pt
	for _, t := range trials {
		for _, s := range t.Seconds {
			pts = append(pts, pt{s, 1 / float64(t.Total) / float64(len(trials))})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
	f := 0.0
	for _, p := range pts {
		f += p.w
		secs = append(secs, p.t)
		frac = append(frac, f)
	}
	return secs, frac
}

// SerfModelFraction is the curve of Serf's published convergence
// simulator (serf.io/docs/internals/simulator.html): a logistic epidemic
// in which each round an informed node makes fanout/N * (1-loss) * 0.5
// effective contacts with each other node, so after x rounds a fraction
// 1 / (1 + (N+1) e^(-fanout*(1-loss)*x/2)) is informed.
func SerfModelFraction(n, fanout int, loss, rounds float64) float64 {
	beta := float64(fanout) * (1 - loss) * 0.5
	return 1 / (1 + float64(n+1)*math.Exp(-beta*rounds))
}

// SerfModelTime is when Serf's model reaches fraction q, rounded up to
// whole rounds as its graph is drawn.
func SerfModelTime(n, fanout int, loss float64, interval time.Duration, q float64) time.Duration {
	beta := float64(fanout) * (1 - loss) * 0.5
	// 1/(1+(N+1)e^(-beta x)) = q  =>  x = ln((N+1) q/(1-q)) / beta
	x := math.Log(float64(n+1)*q/(1-q)) / beta
	return time.Duration(math.Ceil(x)) * interval
}

// EpidemicRounds is the classical bound on rounds of push gossip with
// fanout f to inform all of n nodes (Pittel; Frieze and Grimmett): the
// informed set grows by a factor 1+f per round until it is a constant
// fraction, log_(1+f) n rounds, and then the uninformed shrink by e^-f
// per round, ln(n)/f rounds more.
func EpidemicRounds(n, f int) float64 {
	return math.Log(float64(n))/math.Log(float64(1+f)) + math.Log(float64(n))/float64(f)
}

// formatSeconds prints s with millisecond precision, "-" for missing.
func formatSeconds(s float64) string {
	if s < 0 || math.IsNaN(s) {
		return "-"
	}
	return strconv.FormatFloat(s, 'f', 2, 64)
}

// parseInts parses "1000,10000".
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RealRun is the outcome of TestSimulation for one cluster size.
type RealRun struct {
	N                int     `json:"n"`
	BootstrapVirtual float64 `json:"bootstrap_virtual_seconds"`
	BootstrapWall    float64 `json:"bootstrap_wall_seconds"`
	Virtual          float64 `json:"virtual_seconds"`
	Wall             float64 `json:"wall_seconds"`
	HeapBytes        uint64  `json:"heap_bytes"`     // live heap of the converged cluster
	BytesPerNode     float64 `json:"bytes_per_node"` // HeapBytes / N
	SysBytes         uint64  `json:"sys_bytes"`      // memory obtained from the OS by the end
	Goroutines       int     `json:"goroutines"`
	Network          Stats   `json:"network"`
	Trials           []Trial `json:"trials"`
}
