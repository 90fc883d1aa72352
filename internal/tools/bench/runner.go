package bench

import (
	"context"
	"os"
	"runtime"
	"strings"
	"time"
)

// Config is one benchmark run: which binaries, which sizes, how often.
type Config struct {
	Ours, Serf string // the two binaries
	Ns         []int  // cluster sizes
	Runs       int    // repetitions of every (binary, N) cluster
	Settle     time.Duration
	Plan       Plan
	// NoHTTP leaves out the clusters of ours with -http-addr (OursHTTP).
	NoHTTP bool
	// AgentLogLevel is every agent's -log-level (ClusterConfig.LogLevel).
	AgentLogLevel string
	// Fleet is the fleet boot, run after the other clusters.
	Fleet FleetPlan
	// Starve is the starvation scenario, run last; off unless it has
	// sizes.
	Starve StarvePlan
	// Keep leaves every agent's directory (agent.log, the handler's
	// records) in place after the run, for a look at what went wrong.
	Keep bool
	Log  func(format string, args ...any)
}

// removeDir removes the run's directory unless the run keeps it.
func (cfg Config) removeDir(dir string) {
	if !cfg.Keep {
		os.RemoveAll(dir)
	}
}

// Report is what a run produced; it is also the JSON file.
type Report struct {
	Machine  Machine         `json:"machine"`
	Started  time.Time       `json:"started"`
	Wall     string          `json:"wall_time"`
	Flags    string          `json:"flags"`
	Ns       []int           `json:"ns"`
	Runs     int             `json:"runs"`
	OursSize int64           `json:"ours_size_bytes"`
	SerfSize int64           `json:"serf_size_bytes"`
	Results  []*RunResult    `json:"results"`
	FleetNs  []int           `json:"fleet_ns,omitempty"`
	Fleet    []*FleetResult  `json:"fleet,omitempty"`
	StarveNs []int           `json:"starve_ns,omitempty"`
	Starve   []*StarveResult `json:"starve,omitempty"`
	Rows     []Row           `json:"rows"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

// ThisMachine reads the CPU model and kernel from /proc.
func ThisMachine() Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), Kernel: "unknown", Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}

// Run measures every cluster of cfg, one at a time: for each repetition
// and each N, ours and real Serf in turn, starting with a different one
// each time so that neither always runs on the calmer machine, then ours
// with its HTTP listener on (unless NoHTTP). A
// cluster that cannot start is logged and left out. Run returns what it
// has when ctx ends.
func Run(ctx context.Context, cfg Config, reg *Registry) (*Report, error) {
	rep := &Report{Machine: ThisMachine(), Started: time.Now(), Ns: cfg.Ns, Runs: cfg.Runs,
		FleetNs: cfg.Fleet.Ns, StarveNs: cfg.Starve.Ns}
	for i, bin := range []string{cfg.Ours, cfg.Serf} {
		fi, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			rep.OursSize = fi.Size()
		} else {
			rep.SerfSize = fi.Size()
		}
	}
	dir, err := os.MkdirTemp("", "serf-bench-")
	if err != nil {
		return nil, err
	}
	defer cfg.removeDir(dir)
	if cfg.Keep {
		cfg.Log("keeping the agents' directories in %s", dir)
	}
	handler, err := WriteHandler(dir)
	if err != nil {
		return nil, err
	}

	cluster := 0
	perN := 2
	if !cfg.NoHTTP {
		perN = 3
	}
	total := cfg.Runs * len(cfg.Ns) * perN
	for run := 0; run < cfg.Runs; run++ {
		for i, n := range cfg.Ns {
			order := []string{"ours", "serf"}
			if (run+i)%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			if !cfg.NoHTTP {
				order = append(order, OursHTTP)
			}
			for _, binary := range order {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				bin := cfg.Ours
				if binary == "serf" {
					bin = cfg.Serf
				}
				cluster++
				cfg.Log("[%d/%d] %s, N=%d, run %d", cluster, total, binary, n, run+1)
				r, err := runCluster(ctx, ClusterConfig{
					Bin:      bin,
					N:        n,
					Net:      10 + cluster%240,
					Dir:      dir,
					Handler:  handler,
					HTTP:     binary == OursHTTP,
					LogLevel: cfg.AgentLogLevel,
					Keep:     cfg.Keep,
				}, cfg, reg)
				if err != nil {
					cfg.Log("  ! cluster failed: %v", err)
					continue
				}
				r.Binary, r.Run = binary, run
				rep.Results = append(rep.Results, r)
				if !sleep(ctx, cfg.Settle) {
					return rep, ctx.Err()
				}
			}
		}
	}
	cluster = runFleets(ctx, cfg, reg, dir, handler, cluster, rep)
	runStarves(ctx, cfg, reg, dir, handler, cluster, rep)
	return rep, ctx.Err()
}

// runCluster starts one cluster, measures it and kills it.
func runCluster(ctx context.Context, cc ClusterConfig, cfg Config, reg *Registry) (*RunResult, error) {
	start := time.Now()
	c, err := StartCluster(ctx, cc, reg)
	if err != nil {
		return nil, err
	}
	defer func() {
		c.Close()
		reg.remove(c)
		c.removeDirs()
	}()
	cfg.Log("  started %d agents in %.1fs (median start-up %.0f ms)", cc.N, time.Since(start).Seconds(),
		Median(startups(c))*1000)
	return Measure(ctx, c, cfg.Plan, cfg.Log), nil
}

func startups(c *Cluster) []float64 {
	var xs []float64
	for _, a := range c.Agents {
		xs = append(xs, a.Startup.Seconds())
	}
	return xs
}

// Finish computes the table rows and the wall time.
func (rep *Report) Finish() {
	rows := Rows(rep.Ns, rep.Results, rep.OursSize, rep.SerfSize)
	size := rows[len(rows)-1]
	rows = append(rows[:len(rows)-1], FleetRows(rep.FleetNs, rep.Fleet)...)
	rows = append(rows, StarveRows(rep.StarveNs, rep.Starve)...)
	rep.Rows = append(rows, size)
	rep.Wall = time.Since(rep.Started).Round(time.Second).String()
}
