package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// FleetResult is one fleet boot of one binary: a seed agent started
// alone, then N-1 agents exec'd at the same moment with -join <seed>,
// as a data centre's power cycle or an autoscaling group starts them.
type FleetResult struct {
	Binary string `json:"binary"` // "ours" or "serf"
	N      int    `json:"n"`
	Run    int    `json:"run"` // repetition, from 0

	// Boot is each agent's time, from the exec of the first joiner,
	// until its stats counted N members, none failed or left; agents
	// that never did are left out, and Converged is false.
	Boot      []float64 `json:"boot_s"`
	Converged bool      `json:"converged"`
	// WorstSeen is the smallest alive count an agent's last poll gave.
	WorstSeen int `json:"worst_seen"`
	// Stragglers names agents that had not converged at the cap.
	Stragglers []string `json:"stragglers,omitempty"`
	// Startup is each joiner's time from exec until its RPC answered.
	Startup []float64 `json:"startup_s"`

	Errors []string `json:"errors,omitempty"`
}

// FleetPlan says how fleet boots are run.
type FleetPlan struct {
	Ns   []int         // fleet sizes; none for no fleet boot
	Runs int           // repetitions of every (binary, N)
	Cap  time.Duration // longest wait for a fleet to converge
	Poll time.Duration // how often each agent's stats are asked
}

// runFleets boots every fleet of plan, ours and real Serf alternating
// (the first binary alternates too), one fleet at a time, and appends
// the results to rep. net is the last network used; it returns the
// last one it used.
func runFleets(ctx context.Context, cfg Config, reg *Registry, dir string, handler string, net int, rep *Report) int {
	plan := cfg.Fleet
	total := plan.Runs * len(plan.Ns) * 2
	k := 0
	for run := 0; run < plan.Runs; run++ {
		for i, n := range plan.Ns {
			order := []string{"ours", "serf"}
			if (run+i)%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			for _, binary := range order {
				if ctx.Err() != nil {
					return net
				}
				bin := cfg.Ours
				if binary == "serf" {
					bin = cfg.Serf
				}
				k++
				net++
				cfg.Log("[fleet %d/%d] %s, N=%d, run %d", k, total, binary, n, run+1)
				r := bootFleet(ctx, ClusterConfig{Bin: bin, N: n, Net: 10 + net%240, Dir: dir, Handler: handler, LogLevel: cfg.AgentLogLevel, Keep: cfg.Keep}, plan, reg, cfg.Log)
				r.Binary, r.Run = binary, run
				cfg.Log("  fleet: converged=%v median %.2fs last %.2fs worst saw %d/%d (joiners' start-up median %.0f ms)",
					r.Converged, Median(r.Boot), Max(r.Boot), r.WorstSeen, n, Median(r.Startup)*1000)
				rep.Fleet = append(rep.Fleet, r)
				if !sleep(ctx, cfg.Settle) {
					return net
				}
			}
		}
	}
	return net
}

// bootFleet starts the seed, then the N-1 others at once with -join,
// and polls every agent's stats (never "members", which costs an agent
// O(N) at every poll) until each counts N members with none failed or
// left, or the cap. The cluster is killed before it returns.
func bootFleet(ctx context.Context, cc ClusterConfig, plan FleetPlan, reg *Registry, logf func(string, ...any)) *FleetResult {
	r := &FleetResult{N: cc.N}
	errorf := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		r.Errors = append(r.Errors, msg)
		logf("  ! %s", msg)
	}
	if cc.StartTimeout == 0 {
		cc.StartTimeout = 30 * time.Second
	}
	c := &Cluster{cfg: cc}
	reg.add(c)
	defer func() {
		c.Close()
		reg.remove(c)
		c.removeDirs()
	}()
	if err := c.startAgent(ctx, 0); err != nil {
		errorf("seed: %v", err)
		return r
	}
	join := "-join=" + c.Agents[0].BindAddr
	start := time.Now()
	for i := 1; i < cc.N; i++ {
		if _, err := c.launchAgent(i, join); err != nil {
			errorf("%v", err)
			return r
		}
	}
	at := make([]time.Time, cc.N)
	last := make([]Counts, cc.N)
	deadline := start.Add(plan.Cap)
	pctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var wg sync.WaitGroup
	var lock sync.Mutex // guards r.Errors and r.Startup from the watchers
	for i, a := range c.Agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				if err := c.connect(pctx, a); err != nil {
					lock.Lock()
					r.Errors = append(r.Errors, err.Error())
					lock.Unlock()
					return
				}
				lock.Lock()
				r.Startup = append(r.Startup, a.Startup.Seconds())
				lock.Unlock()
			}
			// Spread the polls over the interval.
			if !sleep(pctx, plan.Poll*time.Duration(i)/time.Duration(cc.N)) {
				return
			}
			prev := start
			for {
				asked := time.Now()
				cnt, err := a.counts()
				if err == nil {
					last[i] = cnt
					if cnt.Members >= cc.N && cnt.Failed == 0 && cnt.Left == 0 {
						at[i] = prev.Add(asked.Sub(prev) / 2)
						return
					}
				}
				prev = asked
				if !sleep(pctx, plan.Poll-time.Since(asked)) {
					return
				}
			}
		}()
	}
	wg.Wait()
	r.Converged = true
	r.WorstSeen = cc.N
	for i, t := range at {
		if t.IsZero() {
			r.Converged = false
			r.WorstSeen = min(r.WorstSeen, last[i].Alive())
			if len(r.Stragglers) < maxStragglers {
				r.Stragglers = append(r.Stragglers, fmt.Sprintf("node%03d: %d/%d alive, %d failed", i, last[i].Alive(), cc.N, last[i].Failed))
			}
			continue
		}
		r.Boot = append(r.Boot, t.Sub(start).Seconds())
	}
	if !r.Converged {
		errorf("not converged within %v: %v", plan.Cap, r.Stragglers)
	}
	return r
}

// fleetValue reduces each fleet boot of one binary at one N with f (per
// run), then takes the worst run: the targets hold "in every run". A
// run that did not converge makes the value missing, with a note.
func fleetValue(f func([]float64) float64) func([]*FleetResult) Value {
	return func(runs []*FleetResult) Value {
		failed, worst := 0, -1
		var vs []float64
		for _, r := range runs {
			if !r.Converged {
				failed++
				if worst < 0 || r.WorstSeen < worst {
					worst = r.WorstSeen
				}
				continue
			}
			vs = append(vs, f(r.Boot))
		}
		if failed > 0 {
			return missing(fmt.Sprintf("not converged in %d/%d runs (worst %d/%d)", failed, len(runs), worst, runs[0].N))
		}
		if len(vs) == 0 {
			return missing("not measured")
		}
		return Value{V: slices.Max(vs)}
	}
}

// FleetRows are the fleet boot's rows: the last and the median agent
// of the worst run at each N, with the targets of the last agent's
// time.
func FleetRows(ns []int, runs []*FleetResult) []Row {
	specs := []struct {
		key, title string
		get        func([]*FleetResult) Value
		target     func(int, Value, Value) Verdict
	}{
		{"fleet_last", "fleet boot: last agent sees all, worst run", fleetValue(Max),
			Either(AtMost(3, "s", 100), AtMost(8, "s", 200), Converges(50))},
		{"fleet_median", "fleet boot: median agent sees all, worst run", fleetValue(Median), nil},
	}
	var rows []Row
	for _, s := range specs {
		for _, n := range ns {
			row := Row{Key: s.key, Title: s.title, Unit: "s", N: n, Ours: missing("no run"), Serf: missing("no run")}
			var ours, serf []*FleetResult
			for _, r := range runs {
				if r.N != n {
					continue
				}
				if r.Binary == "ours" {
					ours = append(ours, r)
				} else {
					serf = append(serf, r)
				}
			}
			if len(ours) > 0 {
				row.Ours = s.get(ours)
			}
			if len(serf) > 0 {
				row.Serf = s.get(serf)
			}
			row.Ratio = Ratio(row.Ours, row.Serf)
			if s.target != nil {
				row.Verdict = s.target(n, row.Ours, row.Serf)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// fleetRunsLine lists every run's last-agent time per binary and N, for
// the page: "ours N=100: 2.1, 2.4, 2.9 s".
func fleetRunsLine(runs []*FleetResult) []string {
	type key struct {
		bin string
		n   int
	}
	var order []key
	times := map[key][]string{}
	for _, r := range runs {
		k := key{r.Binary, r.N}
		if _, ok := times[k]; !ok {
			order = append(order, k)
		}
		v := fmt.Sprintf("not converged (%d/%d)", r.WorstSeen, r.N)
		if r.Converged {
			v = trimDigits(Max(r.Boot)) + " s"
		}
		times[k] = append(times[k], v)
	}
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.n, b.n), cmp.Compare(a.bin, b.bin))
	})
	var out []string
	for _, k := range order {
		out = append(out, fmt.Sprintf("%s N=%d: %s", k.bin, k.n, strings.Join(times[k], ", ")))
	}
	return out
}
