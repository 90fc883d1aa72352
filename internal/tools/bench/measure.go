package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openserf/serf/client"
)

// Plan says how much to measure on each cluster.
type Plan struct {
	ConvergeCap  time.Duration // how long to wait for a full join
	Events       int           // user events timed to all handlers
	EventTimeout time.Duration // per event; an event not everywhere by then is lost
	Queries      int           // queries timed to all acks
	QueryEnds    int           // "serf query" runs timed to their end
	MembersCalls int           // "members" calls timed
	RateWindow   time.Duration // how long user events are sent back to back
	CostWindow   time.Duration // CPU measuring window, idle and under load
	LoadRate     int           // user events per second during the load window
	DetectCap    time.Duration // how long to wait for a failure or leave to be seen
	Kills        int           // agents killed one after another (at most N-2; 1 if 0)
	Poll         time.Duration // how often each agent's counts are polled while timing
	Pause        time.Duration // quiet time before each cost window and detection
	// JoinWave, when set, makes the join send its RPC joins JoinWave
	// agents at a time, each wave answered before the next, instead of
	// all at once: for scenarios that need a formed cluster and do not
	// measure how it forms.
	JoinWave int
	// JoinStall, when set, ends the wait for a join once no agent's
	// alive count has changed for that long (PollProgress): the join
	// has stalled and is reported not converged.
	JoinStall time.Duration
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Measure runs the whole sequence on a freshly started cluster: the
// concurrent join, user events, cost at idle and under load, queries,
// RPC figures, then kill -9 and graceful leave, which leave the cluster
// unusable. Problems that do not stop the run land in Errors.
func Measure(ctx context.Context, c *Cluster, plan Plan, logf func(string, ...any)) *RunResult {
	r := &RunResult{N: c.cfg.N}
	for _, a := range c.Agents {
		r.Startup = append(r.Startup, a.Startup.Seconds())
	}
	var errLock sync.Mutex // errorf is also called from the leave goroutine
	errorf := func(format string, args ...any) {
		// Join errors are multi-line multierror text: one line each.
		msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
		errLock.Lock()
		r.Errors = append(r.Errors, msg)
		errLock.Unlock()
		logf("  ! %s", msg)
	}

	measureJoin(ctx, c, plan, r, errorf)
	logf("  join: converged=%v median %.2fs last %.2fs worst saw %d/%d",
		r.Converged, Median(r.Converge), Max(r.Converge), r.WorstSeen, r.N)
	if len(r.Stragglers) > 0 {
		logf("  not converged: %s", strings.Join(r.Stragglers, ", "))
	}
	if ctx.Err() != nil {
		return r
	}

	if c.cfg.HTTP {
		measureWithHTTP(ctx, c, plan, r, logf, errorf)
		return r
	}

	// The steps in order; each logs its figures. Measure stops between
	// steps once ctx ends (an interrupted run is not reported).
	killed := 0 // agents killed by the kill -9 step
	steps := []func(){
		func() {
			if sleep(ctx, plan.Pause) {
				r.CPUIdle, r.RSSIdle = measureCost(ctx, c, plan.CostWindow, 0, errorf)
				logf("  idle: cpu %.2f%% rss %.1f MiB", Mean(r.CPUIdle), Median(r.RSSIdle))
			}
		},
		func() {
			measureEvents(ctx, c, plan, r, errorf)
			logf("  events: p50 %.3fs p99 %.3fs lost %d", Median(r.Events), Percentile(r.Events, 99), r.EventsMissing)
		},
		func() {
			if sleep(ctx, plan.Pause) {
				r.CPULoad, r.RSSLoad = measureCost(ctx, c, plan.CostWindow, plan.LoadRate, errorf)
				logf("  load: cpu %.2f%% rss %.1f MiB", Mean(r.CPULoad), Median(r.RSSLoad))
			}
		},
		func() {
			measureQueries(ctx, c, plan, r, errorf)
			logf("  queries: median %.3fs short %d", Median(r.QueryAcks), r.QueriesShort)
		},
		func() {
			measureQueryEnds(ctx, c, plan, r, errorf)
			logf("  serf query: median %.3fs to its end, short %d", Median(r.QueryEnd), r.QueryEndsShort)
		},
		func() {
			if c.cfg.N >= 2 && sleep(ctx, plan.Pause) {
				kills := min(max(plan.Kills, 1), c.cfg.N-1)
				if c.cfg.N > 2 {
					kills = min(kills, c.cfg.N-2) // and one agent left to leave
				}
				killed = r.killAgents(ctx, c, plan, kills, logf, errorf)
			}
		},
		func() {
			if victim := c.cfg.N - 1 - killed; victim >= 1 && killed > 0 {
				d := measureDeparture(ctx, c, plan, c.Agents[victim], "left", errorf)
				r.DetectLeft, r.MissingLeft = d.Times, d.Missing
				logf("  leave: seen by all in %.2fs, %d never", Max(r.DetectLeft), r.MissingLeft)
			}
		},
		// Last: its back-to-back user events leave every agent's queues
		// full for a minute and more, which would slow any step after it.
		func() {
			measureRPC(ctx, c, plan, r, errorf)
			logf("  rpc: members %.2fms, %.0f events/s", Median(r.MembersRPC)*1000, r.EventRate)
		},
	}
	if !r.Converged {
		// A cluster that never formed answers every later step at its
		// caps (an overloaded real Serf at N = 200 took 15 minutes for
		// them), and what it would show is the unformed cluster again.
		// Even its idle cost is no figure: such a cluster is still busy
		// joining, and 200 agents doing so starve the bench itself (its
		// 8 s window once took 2 min 19 s).
		logf("  the join did not converge: the rest is not measured")
		steps = nil
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			break
		}
		step()
	}
	return r
}

// maxStragglers bounds the agents named in RunResult.Stragglers.
const maxStragglers = 10

// measureJoin joins agents 1..N-1 to agent 0 at once (or in waves of
// plan.JoinWave), through their RPC, and waits until every agent has
// seen all N alive, or the cap, or until the join stalls (plan.JoinStall).
func measureJoin(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	n := c.cfg.N
	start := time.Now()
	deadline := start.Add(plan.ConvergeCap)
	wave := n - 1
	if plan.JoinWave > 0 {
		wave = plan.JoinWave
	}
	var pending int
	var joined <-chan joinResult
	if wave >= n-1 {
		// All at once: the answers are collected after the poll, which
		// times the join from its start.
		joined = startJoins(c, 1, n)
	} else {
		for lo := 1; lo < n && pending == 0; lo += wave {
			hi := min(lo+wave, n)
			pending = awaitJoins(ctx, c, startJoins(c, lo, hi), hi-lo, deadline, errorf)
		}
	}
	done := func(_ int, cnt Counts) bool { return cnt.Alive() >= n }
	at, last := PollProgress(ctx, c.Agents, plan.Poll, deadline, plan.JoinStall, done)
	if stalled(at) && ctx.Err() == nil && time.Now().Before(deadline) && nearlyFormed(last, n) {
		// A few members missing here and there: push/pull brings them
		// within a minute (a real Serf of 50 once took 67 s), so the
		// stall rule is not applied and the wait goes on to the cap.
		at2, last2 := PollUntil(ctx, c.Agents, plan.Poll, deadline, done)
		for i := range at {
			if at[i].IsZero() {
				at[i], last[i] = at2[i], last2[i]
			}
		}
	}
	r.setConverged(c, start, at, last)
	if !r.Converged && ctx.Err() == nil && time.Now().Before(deadline) {
		errorf("join stalled: no agent's alive count changed for %v, or some agent still saw fewer than half alive after it", plan.JoinStall)
		deadline = time.Now() // the joins still unanswered are not waited for
	}
	if joined != nil {
		pending = awaitJoins(ctx, c, joined, n-1, deadline, errorf)
	}
	if pending > 0 {
		errorf("%d joins still unanswered when the wait ended", pending)
	}
	if !r.Converged {
		// The last polls say how far it got; asking 200 overloaded
		// agents for their member lists as well takes half a minute.
		r.WorstSeen = n
		for _, cnt := range last {
			r.WorstSeen = min(r.WorstSeen, cnt.Alive())
		}
		return
	}
	r.checkWorst(c, errorf)
}

// stalled reports whether some agent never got there.
func stalled(at []time.Time) bool {
	for _, t := range at {
		if t.IsZero() {
			return true
		}
	}
	return false
}

// nearlyFormed reports whether every agent's last count saw at least
// nine in ten of the n members alive.
func nearlyFormed(last []Counts, n int) bool {
	for _, cnt := range last {
		if 10*cnt.Alive() < 9*n {
			return false
		}
	}
	return true
}

// joinResult is one agent's answer to its RPC join.
type joinResult struct {
	i   int
	err error
}

// startJoins sends agents lo..hi-1 their RPC join to agent 0. The joins
// run on; those still blocked at the cap (a real Serf seed that hangs up
// leaves a joiner waiting on TCP timeouts) are not waited for: they end
// when their agent is stopped.
func startJoins(c *Cluster, lo, hi int) <-chan joinResult {
	seed := []string{c.Agents[0].BindAddr}
	joined := make(chan joinResult, hi-lo)
	for i := lo; i < hi; i++ {
		go func() {
			_, err := c.Agents[i].rpc.Join(seed, false)
			joined <- joinResult{i, err}
		}()
	}
	return joined
}

// awaitJoins collects count answers from joined until the deadline,
// reports the errors, and returns how many were still unanswered.
func awaitJoins(ctx context.Context, c *Cluster, joined <-chan joinResult, count int, deadline time.Time, errorf func(string, ...any)) int {
	timer := time.NewTimer(max(time.Until(deadline), 0))
	defer timer.Stop()
	for count > 0 {
		select {
		case j := <-joined:
			count--
			if j.err != nil {
				errorf("%s join: %v", c.Agents[j.i].Name, j.err)
			}
		case <-timer.C:
			return count
		case <-ctx.Done():
			return count
		}
	}
	return 0
}

// setConverged records the times each agent first saw everyone, from
// the join's start, and the stragglers.
func (r *RunResult) setConverged(c *Cluster, start time.Time, at []time.Time, last []Counts) {
	n := c.cfg.N
	r.Converged = true
	for i, t := range at {
		if t.IsZero() {
			r.Converged = false
			if len(r.Stragglers) < maxStragglers {
				r.Stragglers = append(r.Stragglers, fmt.Sprintf("%s: %d/%d", c.Agents[i].Name, last[i].Alive(), n))
			}
			continue
		}
		r.Converge = append(r.Converge, t.Sub(start).Seconds())
	}
}

// checkWorst is the join's final check, through "members": the smallest
// alive count. A few agents at a time: an overloaded agent takes half a
// second to list 200 members, and one after the other that is minutes.
func (r *RunResult) checkWorst(c *Cluster, errorf func(string, ...any)) {
	n := c.cfg.N
	r.WorstSeen = n
	var lock sync.Mutex
	eachAgent(c.Agents, membersAtOnce, func(_ int, a *Agent) {
		ms, err := a.rpc.Members()
		lock.Lock()
		defer lock.Unlock()
		if err != nil {
			errorf("%s members: %v", a.Name, err)
			return
		}
		alive := 0
		for _, m := range ms {
			if m.Status == "alive" {
				alive++
			}
		}
		r.WorstSeen = min(r.WorstSeen, alive)
	})
	if r.Converged && r.WorstSeen < n {
		// Every agent got there, but someone was declared failed since.
		errorf("converged, but an agent's members now shows %d/%d alive", r.WorstSeen, n)
	}
}

// membersAtOnce bounds the agents asked for their member list at once.
const membersAtOnce = 8

// eachAgent calls f for every agent and its index, at most limit at a
// time, and returns when all calls have.
func eachAgent(agents []*Agent, limit int, f func(int, *Agent)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, limit)
	for i, a := range agents {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			f(i, a)
		})
	}
	wg.Wait()
}

// measureCost samples every agent's CPU time over window, sending rate
// user events per second meanwhile, and reads the private memory at the
// end. It returns CPU in percent of a core and RssAnon in MiB, per agent.
func measureCost(ctx context.Context, c *Cluster, window time.Duration, rate int, errorf func(string, ...any)) (cpu, rss []float64) {
	before := make([]time.Duration, len(c.Agents))
	for i, a := range c.Agents {
		var err error
		if before[i], err = ReadCPU(a.PID()); err != nil {
			before[i] = -1
			errorf("%s cpu: %v", a.Name, err)
		}
	}
	start := time.Now()
	if rate > 0 {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		i := 0
	load:
		for time.Since(start) < window {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break load
			}
			a := c.Agents[i%len(c.Agents)]
			if err := a.rpc.UserEvent("load", []byte(strconv.Itoa(i)), false); err != nil {
				errorf("load event from %s: %v", a.Name, err)
				break
			}
			i++
		}
		tick.Stop()
	}
	if rest := window - time.Since(start); rest > 0 && !sleep(ctx, rest) {
		return nil, nil
	}
	elapsed := time.Since(start)
	for i, a := range c.Agents {
		after, err := ReadCPU(a.PID())
		if err != nil {
			errorf("%s cpu: %v", a.Name, err)
			continue
		}
		if before[i] < 0 {
			continue
		}
		cpu = append(cpu, 100*(after-before[i]).Seconds()/elapsed.Seconds())
		mem, err := ReadMemory(a.PID())
		if err != nil {
			errorf("%s memory: %v", a.Name, err)
			continue
		}
		rss = append(rss, float64(mem.RssAnon)/(1<<20))
	}
	return cpu, rss
}

// measureEvents sends plan.Events user events, one at a time from
// rotating agents, and times each until every agent's handler has
// recorded it.
func measureEvents(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	lost := 0
	for e := 0; e < plan.Events && ctx.Err() == nil; e++ {
		payload := fmt.Sprintf("ev%d-%d", c.cfg.Net, e)
		from := c.Agents[(e*7)%len(c.Agents)]
		start := time.Now()
		if err := from.rpc.UserEvent(userEventName, []byte(payload), false); err != nil {
			errorf("user event from %s: %v", from.Name, err)
			return
		}
		last, missing := waitHandlers(ctx, c, payload, start.Add(plan.EventTimeout))
		if missing > 0 {
			r.EventsMissing++
			lost++
			errorf("event %s: %d agents' handlers never ran within %v", payload, missing, plan.EventTimeout)
			if lost == 2 {
				errorf("stopping the event series after %d lost events", lost)
				return
			}
			continue
		}
		r.Events = append(r.Events, float64(last.Sub(start))/float64(time.Second))
		sleep(ctx, 100*time.Millisecond)
	}
}

// waitHandlers polls the agents' handler files until each has a line for
// payload, and returns the latest handler timestamp and how many agents
// lacked one at the deadline.
func waitHandlers(ctx context.Context, c *Cluster, payload string, deadline time.Time) (last time.Time, missing int) {
	seen := make([]time.Time, len(c.Agents))
	for {
		missing = 0
		for i, a := range c.Agents {
			if !seen[i].IsZero() {
				continue
			}
			if t, ok := handlerTime(a.Events, payload); ok {
				seen[i] = t
			} else {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || !sleep(ctx, 50*time.Millisecond) {
			break
		}
	}
	for _, t := range seen {
		if t.After(last) {
			last = t
		}
	}
	return last, missing
}

// handlerTime finds the line "<payload> <unix ns>" in a handler file.
func handlerTime(path, payload string) (time.Time, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, false
	}
	return ParseHandlerLine(data, payload)
}

// ParseHandlerLine finds payload's line in the handler script's output
// and returns its timestamp.
func ParseHandlerLine(data []byte, payload string) (time.Time, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		p, ts, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if !ok || string(p) != payload {
			continue
		}
		ns, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			continue
		}
		return time.Unix(0, ns), true
	}
	return time.Time{}, false
}

// measureQueries sends plan.Queries queries with acks from agent 0 and
// times each until N acks arrived, reading them from the RPC query
// stream; nobody answers these, so they run to their timeout (see
// measureQueryEnds for the time to the end of a query).
func measureQueries(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	n := len(c.Agents)
	for q := 0; q < plan.Queries && ctx.Err() == nil; q++ {
		acks := make(chan string, 2*n)
		start := time.Now()
		err := c.Agents[0].rpc.Query(&client.QueryParam{
			Name:       "bench",
			Payload:    []byte(strconv.Itoa(q)),
			RequestAck: true,
			Timeout:    plan.EventTimeout,
			AckCh:      acks,
		})
		if err != nil {
			errorf("query: %v", err)
			return
		}
		got := map[string]bool{}
		var last time.Time
	wait:
		for len(got) < n {
			select {
			case from, ok := <-acks:
				if !ok {
					break wait
				}
				got[from] = true
				last = time.Now()
			case <-ctx.Done():
				return
			}
		}
		if len(got) < n {
			r.QueriesShort++
			errorf("query %d: %d of %d acks", q, len(got), n)
			if r.QueriesShort == 2 {
				errorf("stopping the query series after %d short queries", r.QueriesShort)
				return
			}
			continue
		}
		r.QueryAcks = append(r.QueryAcks, last.Sub(start).Seconds())
		sleep(ctx, 100*time.Millisecond)
	}
}

// measureRPC times "members" on agent 0 and how many user events one
// connection gets accepted per second.
func measureRPC(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	rpc := c.Agents[0].rpc
	for i := 0; i < plan.MembersCalls && ctx.Err() == nil; i++ {
		start := time.Now()
		if _, err := rpc.Members(); err != nil {
			errorf("members: %v", err)
			return
		}
		r.MembersRPC = append(r.MembersRPC, time.Since(start).Seconds())
	}
	rate, err := eventRate(ctx, plan.RateWindow, func(i int) error {
		return rpc.UserEvent("rate", []byte(strconv.Itoa(i)), false)
	})
	if err != nil {
		errorf("rate event: %v", err)
		return
	}
	r.EventRate = rate
}

// eventRate sends user events back to back with send for window and
// returns how many per second were accepted; 0 without a window.
func eventRate(ctx context.Context, window time.Duration, send func(i int) error) (float64, error) {
	if window <= 0 {
		return 0, nil
	}
	start := time.Now()
	sent := 0
	for time.Since(start) < window && ctx.Err() == nil {
		if err := send(sent); err != nil {
			return 0, err
		}
		sent++
	}
	return float64(sent) / time.Since(start).Seconds(), nil
}

// listsAlive reports whether a's "members" has name alive.
func listsAlive(a *Agent, name string) bool {
	ms, err := a.rpc.MembersFiltered(nil, "alive", name)
	return err == nil && len(ms) > 0
}

// exitedCount counts the agents other than except that have exited.
func exitedCount(c *Cluster, except *Agent) int {
	n := 0
	for _, a := range c.Agents {
		select {
		case <-a.proc.Exited():
			if a != except {
				n++
			}
		default:
		}
	}
	return n
}

// KillSeries is kills with kill -9 one after another, of the last agents
// started, each timed until every other agent saw it failed.
type KillSeries struct {
	// DetectFailed is, per other agent, the time from the first kill
	// until it reported the victim failed; MissingFailed how many did not
	// within the cap.
	DetectFailed  []float64 `json:"detect_failed_s"`
	MissingFailed int       `json:"missing_failed"`
	// For each kill: the time until the last agent saw it failed, how
	// long the cluster took to be quiet before it (see quietCap), the
	// agents' health scores then, and, when the agents logged at info,
	// where the time went.
	Kills      []float64       `json:"kills_seen_by_all_s,omitempty"`
	KillQuiet  []float64       `json:"kill_quiet_s,omitempty"`
	KillHealth []HealthSummary `json:"kill_health,omitempty"`
	KillTraces []KillTrace     `json:"kill_traces,omitempty"`
}

// killAgents kills up to n agents, stopping after one that some agent
// did not see fail, and returns how many it killed.
func (s *KillSeries) killAgents(ctx context.Context, c *Cluster, plan Plan, n int, logf, errorf func(string, ...any)) (killed int) {
	for k := range n {
		d := measureDeparture(ctx, c, plan, c.Agents[c.cfg.N-1-k], "failed", errorf)
		killed++
		if k == 0 {
			s.DetectFailed, s.MissingFailed = d.Times, d.Missing
		}
		s.KillQuiet = append(s.KillQuiet, d.Quiet)
		s.KillHealth = append(s.KillHealth, d.Health)
		logf("  kill -9 %d: %s at %s, seen by all in %.2fs, %d never (%s)",
			k+1, d.Victim, d.Start.Format(stampLayout), Max(d.Times), d.Missing, d.before())
		if tr, ok := killTrace(c.Agents, d.Victim, d.Start); ok {
			logf("    %s", tr)
			s.KillTraces = append(s.KillTraces, tr)
		}
		if len(d.Times) == 0 || d.Missing > 0 || ctx.Err() != nil {
			break
		}
		s.Kills = append(s.Kills, Max(d.Times))
	}
	return killed
}

// killTimes is each kill's time until the last agent saw it failed; for
// results written when a cluster was killed once, that one kill.
func (s *KillSeries) killTimes() []float64 {
	if len(s.Kills) == 0 && len(s.DetectFailed) > 0 {
		return []float64{Max(s.DetectFailed)}
	}
	return s.Kills
}

// Departure is a timed departure and the cluster's state just before it.
type Departure struct {
	Times   []float64 // per agent that saw it, seconds after the kill or leave
	Missing int       // agents that did not see it within the cap
	// Quiet is how long the cluster took to become quiet before the
	// departure (see quietCap); Health is the agents' Lifeguard scores
	// then.
	Quiet  float64
	Health HealthSummary
	// Victim is the agent that went, at Start.
	Victim string
	Start  time.Time
}

// before describes the cluster just before the departure, for the log.
func (d Departure) before() string {
	return fmt.Sprintf("quiet after %.1fs; health scores mean %.2f, max %d, %d agents above 0",
		d.Quiet, d.Health.Mean, d.Health.Max, d.Health.Degraded)
}

// HealthSummary sums up the agents' Lifeguard health scores.
type HealthSummary struct {
	Mean     float64 `json:"mean"`
	Max      int     `json:"max"`
	Degraded int     `json:"above_zero"`
}

func summarizeHealth(cs []Counts) HealthSummary {
	var h HealthSummary
	if len(cs) == 0 {
		return h
	}
	sum := 0
	for _, c := range cs {
		sum += c.Health
		h.Max = max(h.Max, c.Health)
		if c.Health > 0 {
			h.Degraded++
		}
	}
	h.Mean = float64(sum) / float64(len(cs))
	return h
}

// quietCap bounds the wait for a quiet cluster before a departure. A
// departure timed while the agents still gossip the messages of an
// earlier step (an event load, queries) would time that traffic as well:
// every agent's probes slow down with it, and a binary that accepted
// more of the load would carry a longer tail of it. So each departure
// waits until every agent's broadcast queues are empty. (The RPC event
// rate, thousands of user events in a second, leaves the queues full for
// over a minute; it comes last, after the departures.)
const quietCap = 30 * time.Second

// waitQuiet polls agents until every one's broadcast queues are empty,
// and returns how long that took and the health scores then.
func waitQuiet(ctx context.Context, agents []*Agent, poll time.Duration, errorf func(string, ...any)) (float64, HealthSummary) {
	start := time.Now()
	at, last := PollUntil(ctx, agents, poll, start.Add(quietCap), func(_ int, cnt Counts) bool {
		return cnt.Queued == 0
	})
	waited := 0.0
	for i, t := range at {
		if t.IsZero() {
			errorf("%s still has %d messages queued for gossip after %v; timing the departure anyway",
				agents[i].Name, last[i].Queued, quietCap)
			waited = quietCap.Seconds()
			continue
		}
		waited = max(waited, t.Sub(start).Seconds())
	}
	return waited, summarizeHealth(last)
}

// measureDeparture makes victim go, by kill -9 (want "failed") or a
// graceful leave through its RPC (want "left"), once the cluster is
// quiet, and times until every other live agent counts one more failed
// (or left) member than before.
func measureDeparture(ctx context.Context, c *Cluster, plan Plan, victim *Agent, want string, errorf func(string, ...any)) (d Departure) {
	// Each agent that lists the victim alive watches, in the agents'
	// order; the lists are asked a few agents at a time.
	lists := make([]bool, len(c.Agents))
	eachAgent(c.Agents, membersAtOnce, func(i int, a *Agent) {
		select {
		case <-a.proc.Exited():
			return
		default:
		}
		lists[i] = a != victim && listsAlive(a, victim.Name)
	})
	var watchers []*Agent
	for i, a := range c.Agents {
		if lists[i] {
			watchers = append(watchers, a)
		}
	}
	if others := len(c.Agents) - 1 - exitedCount(c, victim); len(watchers) < others {
		errorf("%s: only %d of %d agents listed %s alive; timing those", want, len(watchers), others, victim.Name)
	}
	count := func(cnt Counts) int {
		if want == "failed" {
			return cnt.Failed
		}
		return cnt.Left
	}
	d.Quiet, d.Health = waitQuiet(ctx, watchers, plan.Poll, errorf)
	before := make([]int, len(watchers))
	for i, a := range watchers {
		cnt, err := a.counts()
		if err != nil {
			errorf("%s stats: %v", a.Name, err)
		}
		before[i] = count(cnt)
	}

	start := time.Now()
	d.Victim, d.Start = victim.Name, start
	leaveDone := make(chan struct{})
	if want == "failed" {
		close(leaveDone)
		victim.Kill()
	} else {
		go func() {
			defer close(leaveDone)
			// The agent answers once it has left, then shuts down, which
			// may close the connection before the answer.
			if err := victim.rpc.Leave(); err != nil && !errors.Is(err, client.ErrClosed) && !errors.Is(err, io.EOF) {
				errorf("leave %s: %v", victim.Name, err)
			}
		}()
	}
	// A watcher sees the departure when its count rises above the
	// lowest it has had since the departure began: another member
	// wrongly declared failed before it, and back since (an overloaded
	// cluster of 200 does that), lowers the count by one while the
	// victim raises it by one, and against the count before it the
	// watcher would never be done.
	at, _ := PollUntil(ctx, watchers, plan.Poll, start.Add(plan.DetectCap), func(i int, cnt Counts) bool {
		before[i] = min(before[i], count(cnt))
		return count(cnt) > before[i]
	})
	select {
	case <-leaveDone:
	case <-time.After(10 * time.Second):
		errorf("leave %s: no answer after the wait; killing it", victim.Name)
		victim.Kill()
		<-leaveDone
	}
	var missed []string
	for i, t := range at {
		if t.IsZero() {
			d.Missing++
			if len(missed) < maxStragglers {
				missed = append(missed, watchers[i].Name+": "+statusOf(watchers[i], victim.Name))
			}
			continue
		}
		d.Times = append(d.Times, t.Sub(start).Seconds())
	}
	if len(missed) > 0 {
		errorf("%s %s: not seen %s by %s", want, victim.Name, want, strings.Join(missed, ", "))
	}
	return d
}

// statusOf is how agent a lists member name now: its status, "not
// listed", or the error.
func statusOf(a *Agent, name string) string {
	ms, err := a.rpc.MembersFiltered(nil, "", name)
	switch {
	case err != nil:
		return err.Error()
	case len(ms) == 0:
		return "not listed"
	}
	return "lists it " + ms[0].Status
}
