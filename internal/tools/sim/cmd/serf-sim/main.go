// Command serf-sim measures how fast serf spreads a user event and a
// failure through clusters of 1,000 and more nodes (make sim). Real serf
// nodes run in virtual time inside a synctest bubble, which only a test
// can open, so serf-sim runs TestSimulation of internal/sim through
// `go test`, then runs the protocol model, prints the tables and writes
// docs/benchmarks/sim-* and the simulation section of docs/benchmarks.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/tools/sim"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("serf-sim", flag.ContinueOnError)
	sizes := fs.String("n", "1000", "cluster sizes to measure, comma separated (e.g. 1000,10000)")
	validate := fs.String("validate", "200", "smaller sizes run both ways to validate the model, comma separated")
	realMax := fs.Int("real-max", 2000, "largest size run with real serf nodes; larger sizes run the model only")
	events := fs.Int("events", 5, "user events per scenario with real nodes")
	failures := fs.Int("failures", 2, "failures per scenario with real nodes")
	modelTrials := fs.Int("model-trials", 20, "model trials per size, scenario and kind")
	seed := fs.Uint64("seed", 1, "random seed for senders, victims and the model")
	docs := fs.Bool("docs", true, "write docs/benchmarks/sim-* and the sim section of docs/benchmarks.md")
	render := fs.String("render", "", "only rewrite the docs from this sim-results.json (after editing the method text)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *render != "" {
		return rerender(*render)
	}
	measured, err := sim.ParseInts(*sizes)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: -n: %v\n", err)
		return 2
	}
	small, err := sim.ParseInts(*validate)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: -validate: %v\n", err)
		return 2
	}
	all := append(slices.Clone(small), measured...)
	slices.Sort(all)
	all = slices.Compact(all)
	var realSizes []string
	for _, n := range all {
		if n < 2 {
			fmt.Fprintf(os.Stderr, "serf-sim: a cluster needs 2 nodes or more, not %d\n", n)
			return 2
		}
		if n <= *realMax {
			realSizes = append(realSizes, fmt.Sprint(n))
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: %v\n", err)
		return 1
	}

	var real []sim.RealRun
	if len(realSizes) > 0 {
		real, err = runReal(root, strings.Join(realSizes, ","), *events, *failures, *seed)
		if err != nil {
			fmt.Fprintf(os.Stderr, "serf-sim: real-code simulation: %v\n", err)
			return 1
		}
	}

	start := time.Now()
	var model []sim.Trial
	for _, n := range all {
		for _, sc := range sim.Scenarios {
			c := sim.DefaultModelConfig(n, sc.Link)
			c.Seed = *seed
			for t := 0; t < *modelTrials; t++ {
				u := sim.ModelUserEvent(c, uint64(t), 30*time.Second)
				model = append(model, sim.NewTrial(sim.SourceModel, sim.KindUserEvent, n, sc.Name, u))
				f := sim.ModelFailure(c, uint64(t), 3*time.Minute)
				model = append(model, sim.NewTrial(sim.SourceModel, sim.KindFailure, n, sc.Name, f))
			}
		}
		fmt.Fprintf(os.Stderr, "serf-sim: model, n=%d: done after %.0fs\n", n, time.Since(start).Seconds())
	}
	modelWall := time.Since(start)

	command := "make sim"
	if len(args) > 0 {
		command = "make sim SIMFLAGS='" + strings.Join(args, " ") + "'"
	}
	rep := sim.NewReport(command, real, model, *modelTrials, modelWall)
	fmt.Printf("\nUser event: seconds until delivered to 50%% / 99%% / 99.9%% / 100%% of nodes (mean, worst)\n\n%s\n", rep.Table(sim.KindUserEvent))
	fmt.Printf("Failure: seconds until known as failed by 50%% / 99%% / 99.9%% / 100%% of the other nodes\n\n%s\n", rep.Table(sim.KindFailure))
	fmt.Printf("Against theory\n\n%s\n", rep.BoundsTable())
	fmt.Printf("Model against real code (mean seconds)\n\n%s\n", rep.Validation())
	if !*docs {
		return 0
	}
	if err := writeDocs(root, rep); err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: %v\n", err)
		return 1
	}
	return 0
}

// runReal runs TestSimulation in a child `go test` and reads its results.
func runReal(root, sizes string, events, failures int, seed uint64) ([]sim.RealRun, error) {
	out, err := os.CreateTemp("", "serf-sim-*.json")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command("go", "test", "-v", "-count=1", "-timeout=0", "-run=^TestSimulation$", "./sim/",
		"-args",
		"-sim.out="+out.Name(),
		"-sim.n="+sizes,
		fmt.Sprintf("-sim.events=%d", events),
		fmt.Sprintf("-sim.failures=%d", failures),
		fmt.Sprintf("-sim.seed=%d", seed))
	cmd.Dir = filepath.Join(root, "internal", "tools")
	cmd.Stdout = os.Stderr // go test's own summary is progress, not results
	cmd.Stderr = os.Stderr
	fmt.Fprintf(os.Stderr, "serf-sim: %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	var runs []sim.RealRun
	if err := json.Unmarshal(b, &runs); err != nil {
		return nil, fmt.Errorf("decode %s: %w", out.Name(), err)
	}
	return runs, nil
}

// moduleRoot is the repository root, where docs/ is; the simulation's
// own test runs in this nested module, under internal/tools.
func moduleRoot() (string, error) {
	return oracle.ModuleRoot()
}

// writeDocs writes the JSON, the plots and the sim section of the
// benchmarks page; nothing else there is touched.
func writeDocs(root string, rep *sim.Report) error {
	dir := filepath.Join(root, "docs", "benchmarks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sim-results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var files []string
	for _, kind := range []string{sim.KindUserEvent, sim.KindFailure} {
		for _, sc := range []string{sim.Scenarios[0].Name} {
			name := fmt.Sprintf("sim-%s-%s.png", kind, sc)
			if err := rep.Plot(kind, sc, filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			files = append(files, name)
		}
	}
	page := filepath.Join(root, "docs", "benchmarks.md")
	doc, err := os.ReadFile(page)
	if err != nil {
		return err
	}
	updated, err := sim.ReplaceRegion(string(doc), rep.Markdown(files))
	if err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	if err := os.WriteFile(page, []byte(updated), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serf-sim: wrote %s, %s and %s\n", filepath.Join(dir, "sim-results.json"), strings.Join(files, ", "), page)
	return nil
}

// rerender rewrites the docs from a saved report without measuring.
func rerender(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: %v\n", err)
		return 1
	}
	var rep sim.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: decode %s: %v\n", path, err)
		return 1
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: %v\n", err)
		return 1
	}
	if err := writeDocs(root, &rep); err != nil {
		fmt.Fprintf(os.Stderr, "serf-sim: %v\n", err)
		return 1
	}
	return 0
}
