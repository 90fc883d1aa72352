package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// failedScript is the member-failed handler of the starvation clusters:
// it appends its stdin (one line per failed member) to the file named by
// SERF_BENCH_FAILED.
const failedScript = `#!/bin/sh
cat >> "$SERF_BENCH_FAILED"
`

// refuteLine is what memberlist logs (at WARN, so with -log-level=warn)
// each time an agent refutes a suspicion of itself, in both binaries.
const refuteLine = "Refuting a suspect message"

// suspectCounter is memberlist's counter of members this agent marked
// suspect.
const suspectCounter = "memberlist.msg.suspect"

// StarvePlan says how the starvation scenario runs: for each N, a
// converged cluster of each binary, real Serf's first, is starved by a
// CPU quota of each share of what real Serf's idle agents used (the same
// quota for both binaries, as a machine whose credits ran out gives any
// program), for For each, then a kill -9 is timed with the quota lifted.
type StarvePlan struct {
	Ns []int
	// Base, when set, is what the quotas are shares of, in percent of a
	// core, instead of real Serf's idle CPU: the same quotas in every
	// run, to compare binaries or settings run apart.
	Base    float64
	Shares  []float64     // 0.5, 0.25
	For     time.Duration // how long each quota holds
	Idle    time.Duration // window measuring the idle use
	Recover time.Duration // longest wait for everyone alive again
	// Heal is how much longer a cluster not whole after Recover is
	// waited for before its next quota and its kills, which need it
	// whole: real Serf's members reconnect to those it still counts
	// failed only every 30 s, and a quota started early would count
	// old failures as new.
	Heal      time.Duration
	Cap       time.Duration // longest wait for the join
	DetectCap time.Duration
	Poll      time.Duration
	// Kills is how many agents are killed, one after another, to time
	// failure detection after the quotas. One kill's time varies by a
	// second or two with where the victim's first probe fell, so the
	// median of more kills is steadier than the main table's three.
	Kills int
}

// StarvePhase is one quota held on a converged cluster.
type StarvePhase struct {
	Share   float64 `json:"share"`    // of BaseCPU
	QuotaUS int     `json:"quota_us"` // per 100 ms period
	// FalseFailed counts the lines the agents' member-failed handlers
	// wrote (one per member declared failed) while nobody had failed.
	FalseFailed int `json:"false_failed"`
	// Suspicions is memberlist's suspect counter summed over the agents
	// (each agent counts each member it marked suspect); Refutes counts
	// the agents' log lines saying they refuted a suspicion of
	// themselves.
	Suspicions int `json:"suspicions"`
	Refutes    int `json:"refutes"`
	// Throttled is how many CFS periods the group was throttled in.
	Throttled int `json:"throttled_periods"`
	// Recovered is the time after the quota was lifted until every agent
	// counted N alive again; negative if not within the wait.
	Recovered float64 `json:"recovered_s"`
	// Healed, when Recovered is negative, is the time after the lift
	// until the cluster was whole all the same (StarvePlan.Heal);
	// negative if it never was, and the scenario ended there.
	Healed float64 `json:"healed_s,omitempty"`
}

// StarveResult is the starvation scenario on one cluster.
type StarveResult struct {
	Binary string `json:"binary"`
	N      int    `json:"n"`
	// IdleCPU is the idle agents' CPU summed, in percent of a core.
	// BaseCPU is what the quotas are shares of: the idle CPU of real
	// Serf's cluster at this N, so that both binaries get the same CPU.
	IdleCPU float64       `json:"idle_cpu_pct"`
	BaseCPU float64       `json:"base_cpu_pct"`
	Phases  []StarvePhase `json:"phases"`
	// Kills after the last quota was lifted and everyone recovered.
	KillSeries
	Errors []string `json:"errors,omitempty"`
}

// runStarves runs the starvation scenario for every N of cfg.Starve,
// ours and real Serf alternating.
func runStarves(ctx context.Context, cfg Config, reg *Registry, dir, handler string, net int, rep *Report) {
	plan := cfg.Starve
	if len(plan.Ns) == 0 {
		return
	}
	failed := filepath.Join(dir, "failed.sh")
	if err := os.WriteFile(failed, []byte(failedScript), 0o755); err != nil {
		cfg.Log("  ! starvation: %v", err)
		return
	}
	k := 0
	base := map[int]float64{} // BaseCPU at each N, once measured
	if plan.Base > 0 {
		for _, n := range plan.Ns {
			base[n] = plan.Base
		}
	}
	for _, n := range plan.Ns {
		// Real Serf first: its idle use is the base. The binaries still
		// alternate, serf, ours, serf, ours.
		for _, binary := range []string{"serf", "ours"} {
			if ctx.Err() != nil {
				return
			}
			bin := cfg.Ours
			if binary == "serf" {
				bin = cfg.Serf
			}
			k++
			net++
			cfg.Log("[starve %d/%d] %s, N=%d", k, 2*len(plan.Ns), binary, n)
			r := starve(ctx, ClusterConfig{Bin: bin, N: n, Net: 10 + net%240, Dir: dir, Handler: handler, LogLevel: cfg.AgentLogLevel, Keep: cfg.Keep}, failed, base[n], plan, reg, cfg.Log)
			if base[n] == 0 {
				base[n] = r.IdleCPU
			}
			r.Binary = binary
			rep.Starve = append(rep.Starve, r)
			if !sleep(ctx, cfg.Settle) {
				return
			}
		}
	}
}

// starve runs the scenario on one new cluster and kills it.
// base is BaseCPU; 0 makes it this cluster's idle CPU.
func starve(ctx context.Context, cc ClusterConfig, failedHandler string, base float64, plan StarvePlan, reg *Registry, logf func(string, ...any)) *StarveResult {
	r := &StarveResult{N: cc.N}
	errorf := func(format string, args ...any) {
		msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
		r.Errors = append(r.Errors, msg)
		logf("  ! %s", msg)
	}
	statsd, err := listenStatsd(suspectCounter)
	if err != nil {
		errorf("statsd listener: %v", err)
		return r
	}
	defer statsd.Close()
	conf := filepath.Join(cc.Dir, fmt.Sprintf("starve-net%d.json", cc.Net))
	if err := os.WriteFile(conf, fmt.Appendf(nil, `{"statsd_addr": %q}`+"\n", statsd.Addr()), 0o644); err != nil {
		errorf("%v", err)
		return r
	}
	defer os.Remove(conf)
	cc.Args = []string{"-config-file=" + conf, "-event-handler=member-failed=" + failedHandler}

	c, err := StartCluster(ctx, cc, reg)
	if err != nil {
		errorf("start: %v", err)
		return r
	}
	defer func() {
		c.Close()
		reg.remove(c)
		c.removeDirs()
	}()
	var join RunResult
	// The cluster joins in waves of starveJoinWave: how it forms is not
	// what this scenario measures, and a real Serf seed that 99 joins
	// reach at once on a slow machine may never form it.
	measureJoin(ctx, c, Plan{ConvergeCap: plan.Cap, Poll: plan.Poll, JoinWave: starveJoinWave}, &join, errorf)
	if !join.Converged {
		errorf("not converged (worst %d/%d): not starved", join.WorstSeen, cc.N)
		return r
	}
	if !sleep(ctx, 3*time.Second) {
		return r
	}
	cpu, _ := measureCost(ctx, c, plan.Idle, 0, errorf)
	for _, x := range cpu {
		r.IdleCPU += x
	}
	r.BaseCPU = base
	if r.BaseCPU == 0 {
		r.BaseCPU = r.IdleCPU
	}
	logf("  idle: %.1f%% of a core for %d agents; quotas are shares of %.1f%%", r.IdleCPU, cc.N, r.BaseCPU)

	group, err := newCPUGroup(fmt.Sprintf("serf-bench-%d-net%d", os.Getpid(), cc.Net))
	if err != nil {
		errorf("%v", err)
		return r
	}
	defer group.close()
	for _, a := range c.Agents {
		if err := group.add(a.PID()); err != nil {
			errorf("%s: %v", a.Name, err)
			return r
		}
	}
	for _, share := range plan.Shares {
		if ctx.Err() != nil {
			return r
		}
		p := StarvePhase{Share: share, QuotaUS: max(1000, int(share*r.BaseCPU/100*cfsPeriodUS))}
		failed0, refutes0, suspect0, thr0 := failedLines(c), refutes(c), statsd.Count(suspectCounter), group.throttled()
		if err := group.setQuota(p.QuotaUS); err != nil {
			errorf("%v", err)
			return r
		}
		logf("  quota %d us per %d us (%.0f%% of idle) for %v", p.QuotaUS, cfsPeriodUS, 100*share, plan.For)
		held := sleep(ctx, plan.For)
		if err := group.setQuota(0); err != nil {
			errorf("%v", err)
			return r
		}
		if !held {
			return r
		}
		p.Throttled = group.throttled() - thr0
		lifted := time.Now()
		at, last := PollUntil(ctx, c.Agents, plan.Poll, lifted.Add(plan.Recover), func(_ int, cnt Counts) bool {
			return cnt.Alive() >= cc.N && cnt.Failed == 0
		})
		p.Recovered = 0
		for i, t := range at {
			if t.IsZero() {
				p.Recovered = -1
				errorf("%.0f%% quota: %s still counts %d/%d alive %v after the quota was lifted",
					100*share, c.Agents[i].Name, last[i].Alive(), cc.N, plan.Recover)
				break
			}
			p.Recovered = max(p.Recovered, t.Sub(lifted).Seconds())
		}
		// Member events reach the handlers coalesced, seconds late, and
		// the statsd sinks flush on their own clock.
		if !sleep(ctx, 5*time.Second) {
			return r
		}
		p.FalseFailed = failedLines(c) - failed0
		p.Refutes = refutes(c) - refutes0
		p.Suspicions = statsd.Count(suspectCounter) - suspect0
		logf("  %.0f%% of idle: %d false member-failed lines, %d suspicions, %d refutes, throttled in %d periods, all alive again after %.1fs",
			100*share, p.FalseFailed, p.Suspicions, p.Refutes, p.Throttled, p.Recovered)
		if p.Recovered < 0 {
			p.Healed = healed(ctx, c, plan, lifted)
			if p.Healed < 0 {
				errorf("%.0f%% quota: not whole again %v after the lift: the next quota and the kills are not run",
					100*share, plan.Recover+plan.Heal)
			} else {
				logf("  whole again %.1fs after the lift", p.Healed)
			}
		}
		r.Phases = append(r.Phases, p)
		if p.Healed < 0 || !sleep(ctx, 3*time.Second) {
			return r
		}
	}
	r.killAgents(ctx, c, Plan{Poll: plan.Poll, DetectCap: plan.DetectCap}, plan.Kills, logf, errorf)
	logf("  kill -9 after the quotas: seen by all in %s s, %d never the first time", killsText(r), r.MissingFailed)
	return r
}

// healed waits up to plan.Heal for every agent of c to count all alive
// and none failed, and returns the time since lifted when they did, or
// -1 (also when plan.Heal is 0).
func healed(ctx context.Context, c *Cluster, plan StarvePlan, lifted time.Time) float64 {
	if plan.Heal <= 0 {
		return -1
	}
	at, _ := PollUntil(ctx, c.Agents, plan.Poll, time.Now().Add(plan.Heal), func(_ int, cnt Counts) bool {
		return cnt.Alive() >= len(c.Agents) && cnt.Failed == 0
	})
	whole := 0.0
	for _, t := range at {
		if t.IsZero() {
			return -1
		}
		whole = max(whole, t.Sub(lifted).Seconds())
	}
	return whole
}

// starveJoinWave is how many agents of a starvation cluster join at once.
const starveJoinWave = 10

// failedLines counts the lines of every agent's member-failed file.
func failedLines(c *Cluster) int {
	n := 0
	for _, a := range c.Agents {
		if data, err := os.ReadFile(a.Failed); err == nil {
			n += bytes.Count(data, []byte("\n"))
		}
	}
	return n
}

// refutes counts the refutation lines in every agent's log.
func refutes(c *Cluster) int {
	n := 0
	for _, a := range c.Agents {
		if data, err := os.ReadFile(filepath.Join(a.Dir, "agent.log")); err == nil {
			n += bytes.Count(data, []byte(refuteLine))
		}
	}
	return n
}

// StarveRows are the starvation scenario's rows, per share and N: false
// failures (ours at most half of Serf's, or none), suspicions, refutes,
// and the kill -9 detection after the quotas.
func StarveRows(ns []int, runs []*StarveResult) []Row {
	if len(runs) == 0 {
		return nil
	}
	var shares []float64
	for _, r := range runs {
		for _, p := range r.Phases {
			if !slices.Contains(shares, p.Share) {
				shares = append(shares, p.Share)
			}
		}
	}
	var rows []Row
	for _, share := range shares {
		pct := fmt.Sprintf("%.0f", 100*share)
		phase := func(get func(StarvePhase) int) func(*StarveResult) Value {
			return func(r *StarveResult) Value {
				for _, p := range r.Phases {
					if p.Share == share {
						return Value{V: float64(get(p))}
					}
				}
				return missing("not starved")
			}
		}
		for _, s := range []struct {
			key, title string
			get        func(*StarveResult) Value
			target     func(int, Value, Value) Verdict
		}{
			{"starve" + pct + "_failed", "starved to " + pct + "% of idle CPU: false member-failed lines",
				phase(func(p StarvePhase) int { return p.FalseFailed }), halfOrNone},
			{"starve" + pct + "_suspect", "starved to " + pct + "% of idle CPU: suspicions raised",
				phase(func(p StarvePhase) int { return p.Suspicions }), nil},
			{"starve" + pct + "_refute", "starved to " + pct + "% of idle CPU: suspicions refuted",
				phase(func(p StarvePhase) int { return p.Refutes }), nil},
		} {
			rows = append(rows, starveRows(ns, runs, s.key, s.title, "", s.get, s.target)...)
		}
	}
	rows = append(rows, starveRows(ns, runs, "starve_detect", "kill -9 after the quotas, seen failed by all (median of kills)", "s",
		func(r *StarveResult) Value {
			kills := r.killTimes()
			if len(kills) == 0 {
				return missing("not measured")
			}
			v := Value{V: Median(kills)}
			if r.MissingFailed > 0 {
				v.Note = fmt.Sprintf("%d agents never saw it", r.MissingFailed)
			}
			return v
		}, againstSerf(MaxRatio(1.0)))...)
	return rows
}

// serfMissing reports whether real Serf's figure is absent: its cluster
// did not converge, recover or get to the kills.
func serfMissing(serf Value) bool {
	return serf.Note != "" || math.IsNaN(serf.V)
}

// againstSerf makes a comparison with real Serf neither met nor missed
// when Serf's figure is missing.
func againstSerf(target func(int, Value, Value) Verdict) func(int, Value, Value) Verdict {
	return func(n int, ours, serf Value) Verdict {
		v := target(n, ours, serf)
		if serfMissing(serf) && v.Goal != "" {
			v.Met, v.Uncompared = false, true
		}
		return v
	}
}

// starveRows makes one row per N from the first run of each binary.
func starveRows(ns []int, runs []*StarveResult, key, title, unit string, get func(*StarveResult) Value, target func(int, Value, Value) Verdict) []Row {
	var rows []Row
	for _, n := range ns {
		row := Row{Key: key, Title: title, Unit: unit, N: n, Ours: missing("no run"), Serf: missing("no run")}
		for _, r := range runs {
			if r.N != n {
				continue
			}
			if r.Binary == "ours" {
				row.Ours = get(r)
			} else {
				row.Serf = get(r)
			}
		}
		row.Ratio = Ratio(row.Ours, row.Serf)
		if target != nil {
			row.Verdict = target(n, row.Ours, row.Serf)
		}
		rows = append(rows, row)
	}
	return rows
}

// halfOrNone is the false-failure target: ours none, or at most half of
// real Serf's (not compared when Serf's cluster was not starved).
func halfOrNone(_ int, ours, serf Value) Verdict {
	v := Verdict{Goal: "<= 0.5x or none"}
	switch {
	case ours.Note != "" || math.IsNaN(ours.V):
	case ours.V == 0:
		v.Met = true
	case serfMissing(serf):
		v.Uncompared = true
	default:
		v.Met = ours.V <= serf.V/2
	}
	return v
}

// starveRunsLines describes each starved cluster for the page.
func starveRunsLines(runs []*StarveResult) []string {
	var out []string
	for _, r := range runs {
		var ps []string
		for _, p := range r.Phases {
			recovered := fmt.Sprintf("recovered in %.1f s", p.Recovered)
			switch {
			case p.Recovered < 0 && p.Healed > 0:
				recovered = fmt.Sprintf("not recovered within the wait, whole again after %.1f s", p.Healed)
			case p.Recovered < 0:
				recovered = "never whole again"
			}
			ps = append(ps, fmt.Sprintf("%.0f%% (quota %d us): %d false failed, %d suspicions, %d refutes, throttled %d periods, %s",
				100*p.Share, p.QuotaUS, p.FalseFailed, p.Suspicions, p.Refutes, p.Throttled, recovered))
		}
		out = append(out, fmt.Sprintf("%s N=%d, idle %.1f%% of a core (quotas of %.1f%%): %s; kill -9 seen by all in %s s",
			r.Binary, r.N, r.IdleCPU, r.BaseCPU, strings.Join(ps, "; "), killsText(r)))
	}
	return out
}

// killsText is the kills' times for the page ("8.41, 9.09, 8.80").
func killsText(r *StarveResult) string {
	kills := r.killTimes()
	out := make([]string, len(kills))
	for i, k := range kills {
		out[i] = trimDigits(k)
	}
	return strings.Join(out, ", ")
}
