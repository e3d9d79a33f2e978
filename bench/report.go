package bench

import (
	"cmp"
	"errors"
	"fmt"
	"io"
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
		p, err := f.plot(series)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.name, err)
		}
		for _, ext := range []string{".svg", ".png"} {
			if err := p.Save(18*vg.Centimeter, 11*vg.Centimeter, filepath.Join(dir, f.name+ext)); err != nil {
				return nil, fmt.Errorf("save %s%s: %w", f.name, ext, err)
			}
			files = append(files, f.name+ext)
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
// sweep, one line per protocol and transport.
type figure struct {
	name, title  string
	sweep, phase string
	x            func(*Row) int
	xLabel       string
	xLog         bool
	y            func(*Row) float64
	yLabel       string
}

var figures = []figure{
	{"batch_throughput", "Throughput against batch size (1 provider)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", true, (*Row).ItemsPerSecond, "items/s"},
	{"batch_cpu", "Throughput per CPU-second against batch size (1 provider, both parties)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", true, (*Row).ItemsPerCPUSecond, "items per CPU-second"},
	{"batch_latency", "Query latency against batch size (1 provider)", SweepBatch, PhaseQuery,
		func(r *Row) int { return r.Batch }, "batch size (identifiers)", true, latencyMS, "latency (ms)"},
	{"list_latency", "Query latency against list size", SweepList, PhaseQuery,
		func(r *Row) int { return r.List }, "list size (entries)", true, latencyMS, "latency (ms)"},
	{"list_build", "Catalog build (in process) and whole network setup (quic-node)", SweepList, "",
		func(r *Row) int { return r.List }, "list size (entries)", true, (*Row).ItemsPerSecond, "entries/s"},
	{"providers_throughput", "Throughput against providers queried at once", SweepProviders, PhaseQuery,
		func(r *Row) int { return r.Providers }, "providers", false, (*Row).ItemsPerSecond, "items/s (batch x providers)"},
	{"providers_latency", "Query latency against providers queried at once", SweepProviders, PhaseQuery,
		func(r *Row) int { return r.Providers }, "providers", false, latencyMS, "latency (ms)"},
}

func latencyMS(r *Row) float64 { return r.Seconds * 1000 }

// series is one line of a figure: the median over repetitions at each x.
type series struct {
	name string
	xys  plotter.XYs
}

// series groups the figure's rows by protocol and transport (and phase,
// for the setup figure) and takes the median of each point.
func (f *figure) series(rows []Row) []series {
	type key struct {
		name string
		x    int
	}
	values := map[key][]float64{}
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
		values[k] = append(values[k], f.y(r))
	}
	var out []series
	for _, name := range names {
		s := series{name: name}
		for k, v := range values {
			if k.name == name {
				s.xys = append(s.xys, plotter.XY{X: float64(k.x), Y: median(v)})
			}
		}
		slices.SortFunc(s.xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		out = append(out, s)
	}
	return out
}

func (f *figure) plot(ss []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text, p.Y.Label.Text = f.xLabel, f.yLabel
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	if f.xLog {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		line, points, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	// Headroom above the highest point for the legend (the axis is
	// logarithmic, so a factor, one line of legend per decade or so).
	p.Y.Max *= math.Pow(10, float64(len(ss)+1)/4)
	return p, nil
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
// repetitions, and the repetitions' range of throughput; skipped points are
// listed with their reason.
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
		fmt.Fprintf(&b, "Machine: %s, %d CPUs (GOMAXPROCS %d), %s, commit %s, started %s, load average %s.\n\n",
			m.CPU, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.Commit, m.Date, m.Load)
	}
	b.WriteString("| sweep | protocol | transport | phase | providers | list | batch | items/s (median) | latency ms (median) | items per CPU-s (median) | items/s range | runs | KB up / down (median) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		g := groups[k]
		if k.phase == PhaseSkipped {
			fmt.Fprintf(&b, "| %s | %s | %s | skipped | %d | %s | %s | %s | | | | | |\n", k.sweep, k.protocol, k.transport,
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
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s–%s | %d | %s |\n",
			k.sweep, k.protocol, k.transport, k.phase, k.providers, group3(k.list), group3(k.batch),
			group3(int(median(rates))), milliseconds(median(lat)), group3(int(median(perCPU))),
			group3(int(slices.Min(rates))), group3(int(slices.Max(rates))), len(g), traffic)
	}
	_, err := io.WriteString(w, b.String())
	return err
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
