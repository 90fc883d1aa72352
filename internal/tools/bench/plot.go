package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Colours of the two binaries in every plot.
var (
	oursColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	serfColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// WritePlots writes one PNG per figure into dir, named <key>.png, and
// returns the file names in table order.
func WritePlots(dir string, rows []Row) ([]string, error) {
	var (
		order  []string
		byKey  = map[string][]Row{}
		titles = map[string]string{}
		units  = map[string]string{}
	)
	for _, r := range rows {
		if _, ok := byKey[r.Key]; !ok {
			order = append(order, r.Key)
		}
		byKey[r.Key] = append(byKey[r.Key], r)
		titles[r.Key], units[r.Key] = r.Title, r.Unit
	}
	var files []string
	for _, key := range order {
		name := key + ".png"
		var err error
		if rs := byKey[key]; len(rs) == 1 && rs[0].N == 0 {
			err = barPlot(filepath.Join(dir, name), rs[0])
		} else {
			err = linePlot(filepath.Join(dir, name), titles[key], units[key], rs)
		}
		if err != nil {
			return files, fmt.Errorf("plot %s: %w", key, err)
		}
		files = append(files, name)
	}
	return files, nil
}

// linePlot draws ours and real Serf against N; missing values leave gaps
// (a run that did not converge has no point).
func linePlot(path, title, unit string, rows []Row) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "N (agents)"
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	for _, side := range []struct {
		name string
		col  color.Color
		get  func(Row) Value
	}{
		{"ours", oursColor, func(r Row) Value { return r.Ours }},
		{"serf 0.11", serfColor, func(r Row) Value { return r.Serf }},
	} {
		var pts plotter.XYs
		for _, r := range rows {
			if v := side.get(r); !math.IsNaN(v.V) {
				pts = append(pts, plotter.XY{X: float64(r.N), Y: v.V})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color = side.col
		line.Width = vg.Points(1.5)
		points.Color = side.col
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(side.name, line, points)
	}
	var ticks []plot.Tick
	for _, r := range rows {
		ticks = append(ticks, plot.Tick{Value: float64(r.N), Label: fmt.Sprint(r.N)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	return p.Save(6*vg.Inch, 3.5*vg.Inch, path)
}

// barPlot draws one bar per binary for a figure that does not depend on
// N.
func barPlot(path string, r Row) error {
	p := plot.New()
	p.Title.Text = r.Title
	p.Y.Label.Text = r.Unit
	p.Y.Min = 0
	vals := []float64{r.Ours.V, r.Serf.V}
	for i, col := range []color.Color{oursColor, serfColor} {
		// Each binary's bar chart has a zero for the other's slot, so
		// that each bar gets its own colour.
		bars := plotter.Values{0, 0}
		if !math.IsNaN(vals[i]) {
			bars[i] = vals[i]
		}
		bar, err := plotter.NewBarChart(bars, vg.Points(50))
		if err != nil {
			return err
		}
		bar.Color = col
		bar.LineStyle.Width = 0
		p.Add(bar)
	}
	p.NominalX("ours", "serf 0.11")
	return p.Save(4*vg.Inch, 3*vg.Inch, path)
}
