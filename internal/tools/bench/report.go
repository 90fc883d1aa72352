package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Markers of the region of docs/benchmarks.md that Write rewrites.
const (
	markStart = "<!-- bench:start -->"
	markEnd   = "<!-- bench:end -->"
)

// Write saves the report into outDir (results.json and a PNG per
// figure) and rewrites the bench region of the Markdown page mdPath,
// whose plot links are made relative to it. An empty mdPath skips the
// page.
func (rep *Report) Write(outDir, mdPath string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	plots, err := WritePlots(outDir, rep.Rows)
	if err != nil {
		return err
	}
	if mdPath == "" {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(mdPath), outDir)
	if err != nil {
		rel = outDir
	}
	page, err := os.ReadFile(mdPath)
	if err != nil {
		return err
	}
	page, err = ReplaceRegion(page, rep.Markdown(filepath.ToSlash(rel), plots))
	if err != nil {
		return fmt.Errorf("%s: %w", mdPath, err)
	}
	return os.WriteFile(mdPath, page, 0o644)
}

// Markdown renders the run for the bench region: the machine, the
// table, the plots (paths relative to the page under plotDir).
func (rep *Report) Markdown(plotDir string, plots []string) string {
	var b strings.Builder
	m := rep.Machine
	fmt.Fprintf(&b, "Run of %s (wall time %s): %s, %d cores, Linux %s, %s.\n",
		rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Wall, m.CPU, m.Cores, m.Kernel, m.Go)
	fmt.Fprintf(&b, "Cluster sizes %s, %d run(s) of each; flags: `%s`.\n\n", joinInts(rep.Ns), rep.Runs, rep.Flags)
	WriteMarkdownTable(&b, rep.Rows)
	if lines := fleetRunsLine(rep.Fleet); len(lines) > 0 {
		b.WriteString("\nFleet boot, last agent of each run:\n\n- ")
		b.WriteString(strings.Join(lines, "\n- "))
		b.WriteString("\n")
	}
	if lines := starveRunsLines(rep.Starve); len(lines) > 0 {
		b.WriteString("\nStarvation, each cluster:\n\n- ")
		b.WriteString(strings.Join(lines, "\n- "))
		b.WriteString("\n")
	}
	var notes []string
	for _, r := range rep.Results {
		for _, e := range r.Errors {
			notes = append(notes, fmt.Sprintf("- %s N=%d run %d: %s", r.Binary, r.N, r.Run+1, e))
		}
	}
	for _, r := range rep.Fleet {
		for _, e := range r.Errors {
			notes = append(notes, fmt.Sprintf("- fleet boot, %s N=%d run %d: %s", r.Binary, r.N, r.Run+1, e))
		}
	}
	for _, r := range rep.Starve {
		for _, e := range r.Errors {
			notes = append(notes, fmt.Sprintf("- starvation, %s N=%d: %s", r.Binary, r.N, e))
		}
	}
	if len(notes) > 0 {
		const maxNotes = 20
		b.WriteString("\nProblems during the run:\n\n")
		if len(notes) > maxNotes {
			notes = append(notes[:maxNotes], fmt.Sprintf("- ... and %d more (see results.json)", len(notes)-maxNotes))
		}
		b.WriteString(strings.Join(notes, "\n"))
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nRaw figures: [%s/results.json](%s/results.json).\n\n", plotDir, plotDir)
	for _, p := range plots {
		fmt.Fprintf(&b, "![%s](%s/%s)\n", strings.TrimSuffix(p, ".png"), plotDir, p)
	}
	return b.String()
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// ReplaceRegion puts body between the bench markers of page, keeping
// everything outside them.
func ReplaceRegion(page []byte, body string) ([]byte, error) {
	i := bytes.Index(page, []byte(markStart))
	j := bytes.Index(page, []byte(markEnd))
	if i < 0 || j < i {
		return nil, errors.New("no " + markStart + " ... " + markEnd + " region")
	}
	var out bytes.Buffer
	out.Write(page[:i+len(markStart)])
	out.WriteString("\n")
	out.WriteString(strings.TrimRight(body, "\n"))
	out.WriteString("\n")
	out.Write(page[j:])
	return out.Bytes(), nil
}
