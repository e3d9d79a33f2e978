package bench

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CSVFile and SummaryFile are the names WriteReport gives the results and
// their Markdown summary in its directory.
const (
	CSVFile     = "results.csv"
	SummaryFile = "summary.md"
)

// WriteReport writes rows to dir as results.csv, a Markdown table of the
// median of each point (summary.md), and one SVG and one PNG plot per
// sweep and measure, then reads them back (checkReport). It returns the
// names of the files written.
func WriteReport(dir string, rows []Row) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := []string{CSVFile, SummaryFile}
	if err := writeFile(filepath.Join(dir, CSVFile), func(w io.Writer) error { return WriteCSV(w, rows) }); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, SummaryFile), func(w io.Writer) error { return WriteSummary(w, rows) }); err != nil {
		return nil, err
	}
	for _, f := range figures {
		series := f.series(rows)
		if len(series) == 0 {
			continue
		}
		p, legend, err := f.plot(series)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.name, err)
		}
		for _, ext := range []string{"svg", "png"} {
			name := f.name + "." + ext
			if err := writeFile(filepath.Join(dir, name), func(w io.Writer) error { return drawFigure(w, p, legend, ext) }); err != nil {
				return nil, fmt.Errorf("save %s: %w", name, err)
			}
			files = append(files, name)
		}
	}
	return files, checkReport(dir, files, len(rows))
}

// ReadResults reads the rows of dir's results.csv; a directory without one
// holds no rows.
func ReadResults(dir string) ([]Row, error) {
	f, err := os.Open(filepath.Join(dir, CSVFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CSVFile, err)
	}
	return rows, nil
}

// checkReport reads a written report back: the CSV must parse with every
// row, and every other file must be there and not empty.
func checkReport(dir string, files []string, rows int) error {
	got, err := ReadResults(dir)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if len(got) != rows {
		return fmt.Errorf("read back %d rows of %d from %s", len(got), rows, CSVFile)
	}
	var errs []error
	for _, name := range files {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && fi.Size() == 0 {
			err = errors.New("empty")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// figure is one plot: a measure of one phase against one parameter of a
// sweep, one line per protocol and transport; its scales follow the data
// (fit).
type figure struct {
	name, title  string
	sweep, phase string
	x            func(*Row) int
	xLabel       string
	y            func(*Row) float64
	yLabel       string
}

var figures = []figure{
	{"batch_throughput", "Throughput against batch size (1 provider)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", (*Row).ItemsPerSecond, "items/s"},
	{"batch_cpu", "Throughput per CPU-second against batch size (1 provider, both parties)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", (*Row).ItemsPerCPUSecond, "items per CPU-second"},
	{"batch_latency", "Query latency against batch size (1 provider)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", latencyMS, "latency (ms)"},
	{"list_latency", "Query latency against list size", SweepList, PhaseQuery,
		func(r *Row) int { return r.List }, "list size (entries)", latencyMS, "latency (ms)"},
	{"list_build", "Catalog build (in process) and whole network setup (quic-node)", SweepList, "",
		func(r *Row) int { return r.List }, "list size (entries)", (*Row).ItemsPerSecond, "entries/s"},
	{"providers_throughput", "Throughput against providers queried at once", SweepProviders, PhaseQuery,
		func(r *Row) int { return r.Providers }, "providers", (*Row).ItemsPerSecond, "items/s (batch x providers)"},
	{"providers_latency", "Query latency against providers queried at once", SweepProviders, PhaseQuery,
		func(r *Row) int { return r.Providers }, "providers", latencyMS, "latency (ms)"},
}

func latencyMS(r *Row) float64 { return r.Seconds * 1000 }

// series is one line of a figure.
type series struct {
	name string
	pts  []seriesPoint
}

// seriesPoint is one x of a series: the median over its repetitions, their
// range, and whether any of them was measured on a busy machine.
type seriesPoint struct {
	x, median, lo, hi float64
	loaded            bool
}

// series groups the figure's rows by protocol and transport (and phase,
// for the setup figure) and summarises each point's repetitions.
func (f *figure) series(rows []Row) []series {
	type key struct {
		name string
		x    int
	}
	type reps struct {
		values []float64
		loaded bool
	}
	points := map[key]*reps{}
	var names []string
	for i := range rows {
		r := &rows[i]
		if r.Sweep != f.sweep || r.Seconds <= 0 || f.y(r) <= 0 {
			continue
		}
		if f.phase != "" && r.Phase != f.phase || f.phase == "" && r.Phase != PhaseBuild && r.Phase != PhaseSetup {
			continue
		}
		name := r.Protocol + " / " + r.Transport
		if f.phase == "" {
			name += " " + r.Phase
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		k := key{name, f.x(r)}
		if points[k] == nil {
			points[k] = &reps{}
		}
		points[k].values = append(points[k].values, f.y(r))
		points[k].loaded = points[k].loaded || r.Loaded
	}
	var out []series
	for _, name := range names {
		s := series{name: name}
		for k, v := range points {
			if k.name == name {
				s.pts = append(s.pts, seriesPoint{x: float64(k.x), median: median(v.values),
					lo: slices.Min(v.values), hi: slices.Max(v.values), loaded: v.loaded})
			}
		}
		slices.SortFunc(s.pts, func(a, b seriesPoint) int { return cmp.Compare(a.x, b.x) })
		out = append(out, s)
	}
	return out
}

// Figure layout: the plot on the left, its legend beside it on the right,
// so that no entry covers a point.
const (
	figureWidth  = 24 * vg.Centimeter
	figureHeight = 11 * vg.Centimeter
	legendGap    = vg.Centimeter / 2
)

// plot draws the series: a line through the medians, whiskers from the
// fastest to the slowest repetition, a ring around every point with a
// repetition measured on a busy machine (Row.Loaded), each axis fitted to
// the data (fit). It returns the legend apart, for drawFigure to place.
func (f *figure) plot(ss []series) (*plot.Plot, plot.Legend, error) {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text, p.Y.Label.Text = f.xLabel, f.yLabel
	legend := plot.NewLegend()
	legend.Top, legend.Left, legend.Padding = true, true, vg.Points(3)
	p.Add(plotter.NewGrid())
	var loaded plotter.XYs
	xs := map[float64]bool{}
	spread := false
	for i, s := range ss {
		xys := make(plotter.XYs, len(s.pts))
		var whiskers struct {
			plotter.XYs
			plotter.YErrors
		}
		for j, pt := range s.pts {
			xys[j] = plotter.XY{X: pt.x, Y: pt.median}
			xs[pt.x] = true
			if pt.loaded {
				loaded = append(loaded, xys[j])
			}
			if pt.hi > pt.lo {
				whiskers.XYs = append(whiskers.XYs, xys[j])
				whiskers.YErrors = append(whiskers.YErrors, struct{ Low, High float64 }{pt.median - pt.lo, pt.hi - pt.median})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, legend, err
		}
		c := plotutil.Color(i)
		line.Color, points.Color = c, c
		line.Dashes = plotutil.Dashes(i / 7)
		points.Shape = plotutil.Shape(i)
		if len(whiskers.XYs) > 0 {
			bars, err := plotter.NewYErrorBars(whiskers)
			if err != nil {
				return nil, legend, err
			}
			bars.Color, bars.CapWidth = c, vg.Points(4)
			p.Add(bars)
			spread = true
		}
		p.Add(line, points)
		legend.Add(s.name, line, points)
	}
	if len(loaded) > 0 {
		rings, err := plotter.NewScatter(loaded)
		if err != nil {
			return nil, legend, err
		}
		rings.Shape, rings.Radius, rings.Color = draw.RingGlyph{}, vg.Points(6), color.Black
		p.Add(rings)
		legend.Add("ringed: measured under load", rings)
	}
	if spread {
		legend.Add("whiskers: fastest to slowest run")
	}
	fit(&p.X, slices.Sorted(maps.Keys(xs)))
	fit(&p.Y, nil)
	return p, legend, nil
}

// fit fits an axis to the data range the plotters gave it: a logarithmic
// scale where the data spans a decade or more, else a linear one, with a
// twentieth of the span as margin on each side. at, if not empty, are the
// data's x values, marked on a linear axis instead of round numbers.
func fit(a *plot.Axis, at []float64) {
	lo, hi := a.Min, a.Max
	if lo > 0 && hi/lo >= 10 {
		m := math.Pow(hi/lo, 0.05)
		a.Min, a.Max = lo/m, hi*m
		a.Scale, a.Tick.Marker = plot.LogScale{}, logTicks{}
		return
	}
	pad := (hi - lo) / 20
	if pad == 0 {
		pad = max(math.Abs(hi)/20, 0.5)
	}
	a.Min, a.Max = lo-pad, hi+pad
	if lo >= 0 {
		a.Min = max(a.Min, 0)
	}
	if len(at) > 0 && len(at) <= 12 {
		ticks := make(plot.ConstantTicks, len(at))
		for i, v := range at {
			ticks[i] = plot.Tick{Value: v, Label: compact(v)}
		}
		a.Tick.Marker = ticks
		return
	}
	a.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = compact(ticks[i].Value)
			}
		}
		return ticks
	})
}

// logTicks marks a logarithmic axis at every 1 to 9 times a power of ten,
// labelling the powers of ten where the axis spans three decades or more,
// else 1, 2 and 5 times them, or every mark where even those would leave
// fewer than two labels.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi >= lo && !math.IsInf(hi, 1)) {
		return nil
	}
	var marks []float64
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m <= 9; m++ {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				marks = append(marks, v)
			}
		}
	}
	labelled := func(mantissas ...float64) []plot.Tick {
		ticks := make([]plot.Tick, len(marks))
		n := 0
		for i, v := range marks {
			ticks[i].Value = v
			m := math.Round(v / math.Pow(10, math.Floor(math.Log10(v)+1e-9)))
			if len(mantissas) == 0 || slices.Contains(mantissas, m) {
				ticks[i].Label = compact(v)
				n++
			}
		}
		if n < 2 {
			return nil
		}
		return ticks
	}
	if hi/lo >= 1000 {
		if t := labelled(1); t != nil {
			return t
		}
	}
	if t := labelled(1, 2, 5); t != nil {
		return t
	}
	return labelled()
}

// compact writes an axis label: three significant digits, thousands as k
// and millions as M (100k, 2.5M), never an exponent.
func compact(v float64) string {
	unit := ""
	switch a := math.Abs(v); {
	case a >= 1e6:
		v, unit = v/1e6, "M"
	case a >= 1e3:
		v, unit = v/1e3, "k"
	}
	return trimFloat(v) + unit
}

// trimFloat writes v with at most three significant digits and no
// exponent.
func trimFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.Contains(s, "e") {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// drawFigure writes the plot and, to its right, its legend, as an image of
// the given format (svg or png).
func drawFigure(w io.Writer, p *plot.Plot, legend plot.Legend, format string) error {
	c, err := draw.NewFormattedCanvas(figureWidth, figureHeight, format)
	if err != nil {
		return err
	}
	plotArea, legendArea := layout(draw.New(c), p, &legend)
	p.Draw(plotArea)
	legend.Draw(legendArea)
	_, err = c.WriteTo(w)
	return err
}

// layout splits a figure's canvas: the plot on the left, the legend in a
// column of its width on the right, starting level with the top of the
// plot area, below the title.
func layout(dc draw.Canvas, p *plot.Plot, legend *plot.Legend) (plotArea, legendArea draw.Canvas) {
	r := legend.Rectangle(dc)
	width := r.Max.X - r.Min.X
	plotArea = draw.Crop(dc, 0, -(width + legendGap), 0, 0)
	legendArea = draw.Crop(dc, dc.Max.X-dc.Min.X-width-legendGap/2, 0, 0, -p.Title.TextStyle.Height(p.Title.Text)-p.Title.Padding)
	return plotArea, legendArea
}

// median returns the median of v (the mean of the middle two for an even
// count). v is not empty.
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// WriteSummary writes a Markdown table with one line per measured point:
// the median throughput, latency and throughput per CPU-second over its
// repetitions, the repetitions' range of throughput, the highest load of
// other work they started under and how many were loaded (Row.Loaded);
// skipped points are listed with their reason.
func WriteSummary(w io.Writer, rows []Row) error {
	type key struct {
		sweep, protocol, transport, phase string
		providers, list, batch            int
	}
	var keys []key
	groups := map[key][]Row{}
	for _, r := range rows {
		k := key{r.Sweep, r.Protocol, r.Transport, r.Phase, r.Providers, r.List, r.Batch}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var b strings.Builder
	if len(rows) > 0 {
		m := rows[0].Machine
		fmt.Fprintf(&b, "Machine: %s, %d CPUs (GOMAXPROCS %d), %s, commit %s, started %s.\n\n",
			m.CPU, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.Commit, m.Date)
		b.WriteString(loadSummary(rows))
	}
	b.WriteString("| sweep | protocol | transport | phase | providers | list | batch | items/s (median) | latency ms (median) | items per CPU-s (median) | items/s range | runs | KB up / down (median) | other load (max) | loaded |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		g := groups[k]
		if k.phase == PhaseSkipped {
			fmt.Fprintf(&b, "| %s | %s | %s | skipped | %d | %s | %s | %s | | | | | | | |\n", k.sweep, k.protocol, k.transport,
				k.providers, group3(k.list), group3(k.batch), g[0].Note)
			continue
		}
		rates := make([]float64, len(g))
		lat := make([]float64, len(g))
		perCPU := make([]float64, len(g))
		up, down := make([]float64, len(g)), make([]float64, len(g))
		for i := range g {
			rates[i], lat[i], perCPU[i] = g[i].ItemsPerSecond(), g[i].Seconds*1000, g[i].ItemsPerCPUSecond()
			up[i], down[i] = float64(g[i].BytesUp), float64(g[i].BytesDown)
		}
		traffic := ""
		if median(up)+median(down) > 0 {
			traffic = group3(int(math.Round(median(up)/1000))) + " / " + group3(int(math.Round(median(down)/1000)))
		}
		other, loaded := 0.0, 0
		for i := range g {
			other = max(other, g[i].OtherLoad)
			if g[i].Loaded {
				loaded++
			}
		}
		mark := ""
		if loaded > 0 {
			mark = fmt.Sprintf("⚠ %d of %d", loaded, len(g))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s–%s | %d | %s | %.2f | %s |\n",
			k.sweep, k.protocol, k.transport, k.phase, k.providers, group3(k.list), group3(k.batch),
			group3(int(median(rates))), milliseconds(median(lat)), group3(int(median(perCPU))),
			group3(int(slices.Min(rates))), group3(int(slices.Max(rates))), len(g), traffic, other, mark)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// loadSummary says how busy the machine was over the measured rows.
func loadSummary(rows []Row) string {
	measured, loaded := 0, 0
	lo, hi := math.Inf(1), 0.0
	for i := range rows {
		if rows[i].Phase == PhaseSkipped {
			continue
		}
		measured++
		lo, hi = min(lo, rows[i].OtherLoad), max(hi, rows[i].OtherLoad)
		if rows[i].Loaded {
			loaded++
		}
	}
	if measured == 0 {
		return ""
	}
	s := fmt.Sprintf("Load of other work when each row started (the 1-minute load average less the harness's own share): %.2f to %.2f. ", lo, hi)
	if loaded == 0 {
		return s + "No row was measured at or above the run's bound.\n\n"
	}
	return s + fmt.Sprintf("**%d of %d rows were measured at or above the run's bound (marked ⚠ below, ringed in the plots): "+
		"their figures are a busy machine's, not an idle one's.**\n\n", loaded, measured)
}

// milliseconds writes a latency with 4 significant digits below 100 ms and
// whole milliseconds with thousands separators above.
func milliseconds(ms float64) string {
	if ms >= 100 {
		return group3(int(math.Round(ms)))
	}
	return strconv.FormatFloat(ms, 'g', 4, 64)
}

// group3 writes n with thousands separators.
func group3(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
