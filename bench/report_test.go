package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WriteReport's files read back; ReadResults finds no rows where no report
// was written and refuses a results.csv that does not parse.
func TestReadResults(t *testing.T) {
	dir := t.TempDir()
	if rows, err := ReadResults(dir); err != nil || rows != nil {
		t.Fatalf("empty directory: %v, %v", rows, err)
	}
	files, err := WriteReport(dir, sampleRows())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("files %v", files)
	}
	rows, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, sampleRows()) {
		t.Fatalf("read back %+v", rows)
	}
	if err := os.WriteFile(filepath.Join(dir, CSVFile), []byte("not,a,report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResults(dir); err == nil || !strings.Contains(err.Error(), CSVFile) {
		t.Fatalf("a bad results.csv: %v", err)
	}
}

// checkReport notices a file that a report lists but is empty or missing.
func TestCheckReportNoticesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteReport(dir, sampleRows())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkReport(dir, append(files, "gone.svg"), len(sampleRows())); err == nil ||
		!strings.Contains(err.Error(), SummaryFile+": empty") || !strings.Contains(err.Error(), "gone.svg") {
		t.Fatalf("got %v", err)
	}
	if err := checkReport(dir, nil, len(sampleRows())+1); err == nil {
		t.Fatal("a missing row went unnoticed")
	}
}

// A point's repetitions become a median with its range, and a point with a
// repetition measured under load is marked.
func TestSeriesKeepsSpreadAndLoad(t *testing.T) {
	row := func(batch, rep int, seconds float64, loaded bool) Row {
		return Row{Sweep: SweepBatch, Protocol: ProtocolCatalog, Transport: TransportInProcess, Providers: 1,
			List: 1000, Batch: batch, Rep: rep, Phase: PhaseQuery, Items: batch, Seconds: seconds, Loaded: loaded}
	}
	rows := []Row{row(100, 0, 0.5, false), row(100, 1, 0.1, false), row(100, 2, 0.2, true), row(10, 0, 0.01, false)}
	f := figures[slices.IndexFunc(figures, func(f figure) bool { return f.name == "batch_latency" })]
	ss := f.series(rows)
	if len(ss) != 1 || len(ss[0].pts) != 2 {
		t.Fatalf("series %+v", ss)
	}
	small, big := ss[0].pts[0], ss[0].pts[1]
	if small.x != 10 || small.loaded || small.lo != small.hi {
		t.Errorf("batch 10: %+v", small)
	}
	if big.x != 100 || !big.loaded || big.median != 200 || big.lo != 100 || big.hi != 500 {
		t.Errorf("batch 100: %+v", big)
	}
}

// Axes fit the data: logarithmic where it spans a decade or more, with a
// margin of a few percent, never the decades of empty room a legend used
// to need; linear otherwise, marked at the data's x values.
func TestFitAxes(t *testing.T) {
	p := plot.New()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, 100_000, 3000, 8000
	fit(&p.X, []float64{1, 10, 100, 1000, 10_000, 100_000})
	fit(&p.Y, nil)
	if _, ok := p.X.Scale.(plot.LogScale); !ok || p.X.Min < 0.5 || p.X.Max > 200_000 {
		t.Errorf("x: %T from %g to %g", p.X.Scale, p.X.Min, p.X.Max)
	}
	if _, ok := p.Y.Scale.(plot.LogScale); ok || p.Y.Min < 2500 || p.Y.Max > 8500 {
		t.Errorf("y: %T from %g to %g", p.Y.Scale, p.Y.Min, p.Y.Max)
	}
	q := plot.New()
	q.X.Min, q.X.Max = 1, 8
	fit(&q.X, []float64{1, 2, 4, 8})
	var labels []string
	for _, tk := range q.X.Tick.Marker.Ticks(q.X.Min, q.X.Max) {
		labels = append(labels, tk.Label)
	}
	if !slices.Equal(labels, []string{"1", "2", "4", "8"}) {
		t.Errorf("providers axis labels %q", labels)
	}
}

// Logarithmic ticks label at least two values, in plain numbers.
func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	for _, tt := range []struct {
		lo, hi float64
		want   []string
	}{
		{0.8, 120_000, []string{"1", "10", "100", "1k", "10k", "100k"}},
		{110, 9000, []string{"200", "500", "1k", "2k", "5k"}},
		{0.4, 15_000, []string{"1", "10", "100", "1k", "10k"}},
		{9_000, 11_000_000, []string{"10k", "100k", "1M", "10M"}},
	} {
		if got := labels(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
			t.Errorf("%g to %g: %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
	// Less than a 1-2-5 step apart in places: still labelled.
	if got := labels(13_000, 190_000); !slices.Equal(got, []string{"20k", "50k", "100k"}) {
		t.Errorf("13k to 190k: %q", got)
	}
}

// The summary marks loaded points and says how many rows were loaded.
func TestSummaryMarksLoadedRows(t *testing.T) {
	var b strings.Builder
	if err := WriteSummary(&b, sampleRows()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, "| 1.23 | ⚠ 1 of 1 |") || !strings.Contains(s, "**1 of 1 rows were measured at or above") ||
		!strings.Contains(s, "1.23 to 1.23") {
		t.Errorf("summary:\n%s", s)
	}
	rows := sampleRows()
	rows[0].Loaded = false
	b.Reset()
	if err := WriteSummary(&b, rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "⚠") || !strings.Contains(b.String(), "No row was measured at or above") {
		t.Errorf("summary of unloaded rows:\n%s", b.String())
	}
}

// The legend has a column of its own, right of the plot area: it covers
// no point, whatever the data.
func TestLegendBesideThePlot(t *testing.T) {
	rows := sampleRows()
	f := figures[slices.IndexFunc(figures, func(f figure) bool { return f.name == "batch_throughput" })]
	p, legend, err := f.plot(f.series(rows))
	if err != nil {
		t.Fatal(err)
	}
	dc := draw.New(vgimg.New(figureWidth, figureHeight))
	plotArea, legendArea := layout(dc, p, &legend)
	// A left-aligned legend is drawn from its area's left edge.
	r := legend.Rectangle(dc)
	left, right := legendArea.Min.X, legendArea.Min.X+r.Max.X-r.Min.X
	if left < plotArea.Max.X || right > dc.Max.X || plotArea.Max.X-plotArea.Min.X < (dc.Max.X-dc.Min.X)/2 {
		t.Errorf("legend from %v to %v, plot area %v, canvas %v", left, right, plotArea.Rectangle, dc.Rectangle)
	}
}
