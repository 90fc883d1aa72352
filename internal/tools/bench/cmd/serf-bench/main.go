// Command serf-bench measures our serf agent side by side with the real
// Serf v0.11.0 and prints one table with both, their ratio and whether
// our targets are met; it writes the figures as JSON and PNG plots into
// -out and the table into the bench region of -md. See package
// internal/bench. Run it from the repository root ("make bench").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openserf/serf/internal/testutil/serfbin"
	"github.com/openserf/serf/internal/tools/bench"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("serf-bench", flag.ContinueOnError)
	var (
		ns      = fs.String("n", "10,50,100,200", "cluster sizes, comma-separated (at most 250); empty for none (only the fleet boot and starvation)")
		runs    = fs.Int("runs", 1, "repetitions of every cluster of each binary")
		events  = fs.Int("events", 8, "user events timed to all handlers, per cluster")
		queries = fs.Int("queries", 5, "queries timed to all acks, per cluster")
		qends   = fs.Int("query-ends", 2, "serf query runs timed to their end, per cluster")
		window  = fs.Duration("window", 8*time.Second, "CPU measuring window, idle and under load")
		load    = fs.Int("load", 10, "user events per second during the load window")
		capConv = fs.Duration("cap", 90*time.Second, "longest wait for a concurrent join to converge")
		stallC  = fs.Duration("join-stall", 30*time.Second, "end the wait for a concurrent join, as not converged, once no agent's alive count has changed for this long and some agent sees fewer than nine in ten members alive, or once this long has passed and some agent sees fewer than half; 0 waits for the cap")
		settle  = fs.Duration("settle", 2*time.Second, "pause between clusters")
		poll    = fs.Duration("poll", 200*time.Millisecond, "how often each agent's member counts are polled while timing a join or departure")
		quick   = fs.Bool("quick", false, "a short run: N=10,50, fewer events and shorter windows")
		fleetN  = fs.String("fleet", "50,100,200", "fleet boot sizes, comma-separated; empty for none")
		fleetR  = fs.Int("fleet-runs", 3, "repetitions of every fleet boot of each binary")
		fleetC  = fs.Duration("fleet-cap", 30*time.Second, "longest wait for a fleet boot to converge")
		starveN = fs.String("starve", "", "starvation scenario sizes, comma-separated (e.g. 50,100; takes minutes, root only); empty for none")
		starveF = fs.Duration("starve-for", 90*time.Second, "how long each CPU quota of the starvation scenario holds")
		starveK = fs.Int("starve-kills", 5, "agents killed with kill -9 one after another after the starvation quotas; the median is reported")
		starveB = fs.Float64("starve-base", 0, "percent of a core the starvation quotas are shares of; 0: the idle use of real Serf's cluster at each N")
		noHTTP  = fs.Bool("no-http", false, "leave out the clusters of ours with -http-addr (the HTTP API's figures and the listener's idle cost)")
		kills   = fs.Int("kills", 3, "agents killed with kill -9 one after another per cluster; the table has the median")
		logLvl  = fs.String("agent-log-level", "warn", "every agent's -log-level; info adds memberlist's probe failures and suspicion timeouts to each agent.log")
		keep    = fs.Bool("keep", false, "keep every agent's directory (agent.log, the handler's records) after the run, and say where")
		out     = fs.String("out", "docs/benchmarks", "directory for results.json and the plots")
		md      = fs.String("md", "docs/benchmarks.md", "page whose bench region gets the table; empty for none")
		ours    = fs.String("ours", "", "our serf binary (default: go build ./cmd/serf into a temp dir)")
		serf    = fs.String("serf", "", "real serf binary (default: the "+bench.OracleVersion+" oracle, installed if needed)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["n"] {
			*ns = "10,50"
		}
		if !set["events"] {
			*events = 6
		}
		if !set["queries"] {
			*queries = 3
		}
		if !set["query-ends"] {
			*qends = 2
		}
		if !set["window"] {
			*window = 4 * time.Second
		}
		if !set["cap"] {
			*capConv = 60 * time.Second
		}
		if !set["fleet"] {
			*fleetN = "50"
		}
		if !set["fleet-runs"] {
			*fleetR = 2
		}
	}
	var sizes []int
	var err error
	if *ns != "" {
		if sizes, err = parseInts(*ns); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: -n: %v\n", err)
			return 2
		}
	}
	var fleetSizes, starveSizes []int
	if *fleetN != "" {
		if fleetSizes, err = parseInts(*fleetN); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: -fleet: %v\n", err)
			return 2
		}
	}
	if *starveN != "" {
		if starveSizes, err = parseInts(*starveN); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: -starve: %v\n", err)
			return 2
		}
	}
	// The RPC clients log Serf's "[ERR] agent.client: Failed to decode
	// response header: EOF" to the standard logger whenever the bench
	// kills an agent under one, hundreds of times a run; the bench's own
	// checks report what matters.
	log.SetOutput(io.Discard)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var reg bench.Registry
	// Kill the agents at once on a signal, before Run unwinds, and on a
	// panic of this goroutine; the agents' parent-death signal covers
	// the rest.
	go func() {
		<-ctx.Done()
		reg.KillAll()
	}()
	defer func() {
		if p := recover(); p != nil {
			reg.KillAll()
			panic(p)
		}
	}()

	tmp, err := os.MkdirTemp("", "serf-bench-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if *ours == "" {
		// As `make build` ships it: static, without cgo. The symbols stay,
		// as in the oracle built by go install, so the sizes compare.
		logf("building ours: CGO_ENABLED=0 go build -trimpath -o %s ./cmd/serf", filepath.Join(tmp, "serf"))
		if *ours, err = serfbin.Build(tmp, serfbin.Options{Static: true}); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
			return 1
		}
	}
	if *serf == "" {
		logf("installing real serf %s (cached after the first time)", bench.OracleVersion)
		if *serf, err = bench.OracleBinary(bench.OracleVersion); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
			return 1
		}
	}
	// The agents run in their own directories, so a binary given by a
	// relative path would not be found there.
	for _, bin := range []*string{ours, serf} {
		if *bin, err = filepath.Abs(*bin); err != nil {
			fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
			return 1
		}
	}
	logf("ours: %s; real serf: %s", *ours, *serf)

	cfg := bench.Config{
		Ours: *ours, Serf: *serf, Ns: sizes, Runs: *runs, Settle: *settle, Log: logf, NoHTTP: *noHTTP, AgentLogLevel: *logLvl, Keep: *keep,
		Plan: bench.Plan{
			ConvergeCap:  *capConv,
			JoinStall:    *stallC,
			Events:       *events,
			EventTimeout: 10 * time.Second,
			Queries:      *queries,
			QueryEnds:    *qends,
			MembersCalls: 50,
			RateWindow:   time.Second,
			CostWindow:   *window,
			LoadRate:     *load,
			DetectCap:    60 * time.Second,
			Kills:        *kills,
			Pause:        2 * time.Second,
			Poll:         *poll,
		},
		Fleet: bench.FleetPlan{Ns: fleetSizes, Runs: *fleetR, Cap: *fleetC, Poll: *poll},
		Starve: bench.StarvePlan{
			Ns:        starveSizes,
			Base:      *starveB,
			Shares:    []float64{0.5, 0.25},
			For:       *starveF,
			Idle:      *window,
			Recover:   60 * time.Second,
			Heal:      2 * time.Minute,
			Cap:       *capConv,
			DetectCap: 60 * time.Second,
			Poll:      *poll,
			Kills:     *starveK,
		},
	}
	rep, err := bench.Run(ctx, cfg, &reg)
	if rep == nil {
		fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
		return 1
	}
	rep.Flags = strings.Join(append([]string{"serf-bench"}, args...), " ")
	rep.Finish()
	bench.WriteTable(os.Stdout, rep.Rows)
	fmt.Printf("\nwall time %s\n", rep.Wall)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "serf-bench: interrupted; nothing written")
			return 130
		}
		fmt.Fprintf(os.Stderr, "serf-bench: %v\n", err)
		return 1
	}
	if err := rep.Write(*out, *md); err != nil {
		fmt.Fprintf(os.Stderr, "serf-bench: write results: %v\n", err)
		return 1
	}
	logf("wrote %s and %s", *out, *md)
	return 0
}

// parseInts parses "10,50,100".
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 250 {
			return nil, fmt.Errorf("%d agents: want 1 to 250", n)
		}
		out = append(out, n)
	}
	return out, nil
}
