package bench

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Phases, the values of Row.Phase.
const (
	// PhaseQuery is one batch query: Items identifiers asked of Providers
	// providers, Seconds from the first blind to the last result.
	PhaseQuery = "query"
	// PhaseBuild is a provider's catalog build: Items entries evaluated and
	// stored.
	PhaseBuild = "build"
	// PhaseSetup is a node network's start until every catalog is
	// published and downloaded (quic-node): Items is the entries over all
	// providers.
	PhaseSetup = "setup"
	// PhaseSkipped is a point the run could not measure; Note says why.
	PhaseSkipped = "skipped"
)

// Row is one measurement, one line of the CSV.
type Row struct {
	Sweep     string
	Protocol  string
	Transport string
	Providers int
	List      int // entries on each provider's list (the responder's set)
	Batch     int // identifiers per query (the requester's set)
	Rep       int
	Phase     string
	Items     int // what the throughput counts (see the Phase constants)
	Seconds   float64
	// CPUSeconds is the CPU time of every party (user and system, all
	// cores) over the same span as Seconds; 0 where it cannot be read.
	CPUSeconds float64
	// Hits is the number of (item, provider) matches the protocol found and
	// WantHits the number planted; a run stops before recording a row where
	// they differ.
	Hits, WantHits int
	Note           string
	// BytesUp and BytesDown are the bytes the requester sent and received
	// in the query (in process the protocols' messages' encodings; over
	// quic-node the UDP payloads between the requester and the providers,
	// QUIC and TLS framing included); 0 where not measured.
	BytesUp, BytesDown int64
	// OtherLoad is the load of the machine's other work when the row
	// started: the 1-minute load average (Machine.Load's first figure)
	// less the harness's own share of it (loadJudge).
	OtherLoad float64
	// Loaded marks a row that started with OtherLoad at or above the run's
	// MaxLoad, or whose load could not be read: measured on a busy
	// machine, not to be read as an idle one's figure.
	Loaded bool
	Machine
}

// ItemsPerSecond is the row's throughput.
func (r *Row) ItemsPerSecond() float64 { return perSecond(r.Items, r.Seconds) }

// ItemsPerCPUSecond is the row's throughput per second of CPU time: what
// one free core would sustain, the measure load from other processes
// distorts least.
func (r *Row) ItemsPerCPUSecond() float64 { return perSecond(r.Items, r.CPUSeconds) }

func perSecond(items int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(items) / seconds
}

// Columns is the CSV header, in order.
var Columns = []string{
	"sweep", "protocol", "transport", "providers", "list", "batch", "rep", "phase",
	"items", "seconds", "items_per_s", "latency_ms", "cpu_seconds", "items_per_cpu_s", "hits", "want_hits", "note",
	"cpu", "num_cpu", "gomaxprocs", "go_version", "commit", "date", "load",
	"bytes_up", "bytes_down", "other_load", "loaded",
}

// Bounds on a CSV that ReadCSV accepts: far above what a full run writes.
const (
	maxCSVBytes = 16 << 20
	maxCSVRows  = 100_000
	maxField    = 512
)

// WriteCSV writes the header and rows.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for i := range rows {
		if err := cw.Write(rows[i].record()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (r *Row) record() []string {
	itoa := strconv.Itoa
	// Seconds is written exactly, so that the derived columns (rounded to
	// 6 significant digits) can be recomputed from it on reading.
	exact := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	ftoa := func(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
	return []string{
		r.Sweep, r.Protocol, r.Transport, itoa(r.Providers), itoa(r.List), itoa(r.Batch), itoa(r.Rep), r.Phase,
		itoa(r.Items), exact(r.Seconds), ftoa(r.ItemsPerSecond()), ftoa(r.Seconds * 1000),
		exact(r.CPUSeconds), ftoa(r.ItemsPerCPUSecond()), itoa(r.Hits), itoa(r.WantHits), r.Note,
		r.CPU, itoa(r.NumCPU), itoa(r.GOMAXPROCS), r.GoVersion, r.Commit, r.Date, r.Load,
		strconv.FormatInt(r.BytesUp, 10), strconv.FormatInt(r.BytesDown, 10),
		exact(r.OtherLoad), strconv.FormatBool(r.Loaded),
	}
}

// ReadCSV parses what WriteCSV wrote. It reads at most 16 MiB and 100,000
// rows, requires the exact header, and rejects a row whose numbers do not
// parse, are negative, or whose derived columns disagree with the others.
func ReadCSV(r io.Reader) ([]Row, error) {
	lr := &io.LimitedReader{R: r, N: maxCSVBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = len(Columns)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformedCSV, err)
	}
	if !slices.Equal(header, Columns) {
		return nil, fmt.Errorf("%w: header %q, want %q", ErrMalformedCSV, header, Columns)
	}
	var rows []Row
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedCSV, err)
		}
		if len(rows) == maxCSVRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrMalformedCSV, maxCSVRows)
		}
		row, err := parseRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedCSV, line, err)
		}
		rows = append(rows, row)
	}
	if lr.N == 0 {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedCSV, maxCSVBytes)
	}
	return rows, nil
}

func parseRecord(rec []string) (Row, error) {
	var row Row
	for i, f := range rec {
		if len(f) > maxField {
			return row, fmt.Errorf("column %s longer than %d bytes", Columns[i], maxField)
		}
	}
	p := fieldParser{rec: rec}
	row.Sweep, row.Protocol, row.Transport = rec[0], rec[1], rec[2]
	row.Providers, row.List, row.Batch, row.Rep = p.int(3), p.int(4), p.int(5), p.int(6)
	row.Phase = rec[7]
	row.Items, row.Seconds = p.int(8), p.float(9)
	p.float(10)
	p.float(11)
	row.CPUSeconds = p.float(12)
	p.float(13)
	row.Hits, row.WantHits, row.Note = p.int(14), p.int(15), rec[16]
	row.CPU, row.NumCPU, row.GOMAXPROCS = rec[17], p.int(18), p.int(19)
	row.GoVersion, row.Commit, row.Date, row.Load = rec[20], rec[21], rec[22], rec[23]
	row.BytesUp, row.BytesDown = int64(p.int(24)), int64(p.int(25))
	row.OtherLoad, row.Loaded = p.float(26), p.bool(27)
	if p.err != nil {
		return row, p.err
	}
	// Recomputing the derived columns must give the same text.
	again := row.record()
	for _, i := range []int{10, 11, 13} {
		if again[i] != rec[i] {
			return row, fmt.Errorf("column %s is %s, but the other columns give %s", Columns[i], rec[i], again[i])
		}
	}
	return row, nil
}

// fieldParser parses numeric columns, keeping the first error.
type fieldParser struct {
	rec []string
	err error
}

func (p *fieldParser) int(i int) int {
	v, err := strconv.Atoi(p.rec[i])
	if err == nil && v < 0 {
		err = fmt.Errorf("negative")
	}
	p.fail(i, err)
	return v
}

func (p *fieldParser) float(i int) float64 {
	v, err := strconv.ParseFloat(p.rec[i], 64)
	if err == nil && !(v >= 0 && v < 1e18) {
		err = fmt.Errorf("out of range")
	}
	p.fail(i, err)
	return v
}

func (p *fieldParser) bool(i int) bool {
	var err error
	v := p.rec[i] == "true"
	if !v && p.rec[i] != "false" {
		err = fmt.Errorf("%q is neither true nor false", p.rec[i])
	}
	p.fail(i, err)
	return v
}

func (p *fieldParser) fail(i int, err error) {
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column %s: %w", Columns[i], err)
	}
}
