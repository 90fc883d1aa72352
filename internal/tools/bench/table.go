package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// formatNumber writes v in unit with as many digits as the figure
// deserves.
func formatNumber(v float64, unit string) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch unit {
	case "":
		return strconv.FormatFloat(v, 'f', 0, 64) // a count
	case "s", "ms", "MiB":
		return trimDigits(v) + " " + unit
	case "%":
		return strconv.FormatFloat(v, 'f', 2, 64) + " %"
	case "/s":
		return strconv.FormatFloat(v, 'f', 0, 64) + " /s"
	}
	return trimDigits(v) + " " + unit
}

// trimDigits prints three significant digits, without exponent, for
// values from 0.001 up.
func trimDigits(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// FormatValue is a table cell: the number, the note, or both.
func FormatValue(v Value, unit string) string {
	switch {
	case math.IsNaN(v.V) && v.Note != "":
		return v.Note
	case v.Note != "":
		return formatNumber(v.V, unit) + " (" + v.Note + ")"
	}
	return formatNumber(v.V, unit)
}

// FormatRatio prints ours/serf as "0.53x", or "-".
func FormatRatio(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

// FormatVerdict prints the target column: "<= 1.0x met", "<= 5 s MISSED"
// or nothing.
func FormatVerdict(v Verdict) string {
	if v.Goal == "" {
		return ""
	}
	switch {
	case v.Met:
		return v.Goal + ": met"
	case v.Uncompared:
		return v.Goal + ": not compared"
	}
	return v.Goal + ": MISSED"
}

func formatN(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// WriteTable prints rows as an aligned text table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tN\tours\tserf\tratio\ttarget")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Title, formatN(r.N),
			FormatValue(r.Ours, r.Unit), FormatValue(r.Serf, r.Unit), FormatRatio(r.Ratio), FormatVerdict(r.Verdict))
	}
	return tw.Flush()
}

// WriteMarkdownTable prints rows as a Markdown table.
func WriteMarkdownTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| figure | N | ours | real Serf | ratio | target |\n")
	b.WriteString("|---|--:|--:|--:|--:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Title, formatN(r.N),
			FormatValue(r.Ours, r.Unit), FormatValue(r.Serf, r.Unit), FormatRatio(r.Ratio), FormatVerdict(r.Verdict))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonFloat is a float64 that is written as null when NaN, which
// encoding/json refuses.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *jsonFloat) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(data, (*float64)(f))
}

// MarshalJSON writes a missing value as null.
func (v Value) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		V    jsonFloat `json:"value"`
		Note string    `json:"note,omitempty"`
	}{jsonFloat(v.V), v.Note})
}

// UnmarshalJSON reads null as a missing value.
func (v *Value) UnmarshalJSON(data []byte) error {
	var s struct {
		V    jsonFloat `json:"value"`
		Note string    `json:"note,omitempty"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v.V, v.Note = float64(s.V), s.Note
	return nil
}

// MarshalJSON writes a missing ratio as null.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	return json.Marshal(struct {
		plain
		Ratio jsonFloat `json:"ratio"`
	}{plain(r), jsonFloat(r.Ratio)})
}
