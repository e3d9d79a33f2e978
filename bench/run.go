package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/riskmesh/riskmesh/bench/synth"
)

// Run performs the suite cfg describes and returns its rows, sorted by
// sweep, protocol, transport and parameters. Every query's answer is
// checked; the first wrong one ends the run with ErrWrongResult.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.TempDir == "" {
		dir, err := os.MkdirTemp("", "riskmesh-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.TempDir = dir
	}
	if cfg.Machine.Date == "" {
		cfg.Machine = DetectMachine(ctx, ".")
	}
	if cfg.judge == nil {
		cfg.judge = newLoadJudge(cfg.LoadSource)
	}
	r := &runner{cfg: &cfg}
	pts := plan(&cfg)

	// Points are grouped by the lists they need, then by system, so each
	// workload is generated once and each system set up once.
	type listsKey struct{ providers, list int }
	var order []listsKey
	for _, p := range pts {
		k := listsKey{p.providers, p.list}
		if p.skip == "" && !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	for _, p := range pts {
		if p.skip != "" {
			r.emit(&p, 0, Row{Phase: PhaseSkipped, Note: p.skip}, nil)
		}
	}
	for _, k := range order {
		var group []point
		for _, p := range pts {
			if p.skip == "" && p.providers == k.providers && p.list == k.list {
				group = append(group, p)
			}
		}
		if err := r.runLists(ctx, k.providers, k.list, group); err != nil {
			return nil, err
		}
	}
	if cfg.runs(SweepWAN) && !cfg.wanInner {
		// The sweep's own run, here or in the emulated network, takes the
		// node binary this one built.
		if _, err := r.nodeBinary(ctx); err != nil {
			return nil, err
		}
		wan, err := runWAN(ctx, &cfg)
		if err != nil {
			return nil, err
		}
		r.rows = append(r.rows, wan...)
	}
	sortRows(r.rows)
	return r.rows, nil
}

// runner accumulates the rows of a run.
type runner struct {
	cfg  *Config
	rows []Row
	seq  uint64
	// matchBin is the DHPSI baseline binary, built at its first use.
	matchBin string
}

// nodeBinary returns Config.NodeBinary, built into the run's directory
// at its first use when the configuration names none.
func (r *runner) nodeBinary(ctx context.Context) (string, error) {
	if r.cfg.NodeBinary == "" {
		bin, err := buildNode(ctx, r.cfg.TempDir)
		if err != nil {
			return "", err
		}
		r.cfg.NodeBinary = bin
	}
	return r.cfg.NodeBinary, nil
}

// emit records a row for p, filling in the point's parameters, the
// machine and the load the row started under (nil: a row not measured,
// which keeps the run's).
func (r *runner) emit(p *point, rep int, row Row, load *rowLoad) {
	row.Sweep, row.Protocol, row.Transport = p.sweep, p.protocol, p.transport
	row.Providers, row.List, row.Batch, row.Rep = p.providers, p.list, p.batch, rep
	row.Machine = r.cfg.Machine
	if load != nil {
		row.Load, row.OtherLoad, row.Loaded = "unknown", load.other, load.loaded
		if load.err == nil {
			row.Load = load.avg.String()
		}
	}
	r.rows = append(r.rows, row)
}

// settle waits, as Config.MaxLoad says, for the machine's other work to
// quieten before a row, and returns the load the row starts under.
func (r *runner) settle(ctx context.Context) (rowLoad, error) {
	l, err := r.cfg.judge.settle(ctx, r.cfg.MaxLoad, r.cfg.LoadWait)
	if err == nil && l.loaded {
		r.cfg.Logger.Warn("machine busy: the row is marked loaded", "other_load", l.other, "max_load", r.cfg.MaxLoad,
			"waited_up_to", max(r.cfg.LoadWait, 0), "refused", r.cfg.RefuseLoaded, "read_error", l.err)
	}
	return l, err
}

// refused returns the skipped row that stands for a row RefuseLoaded did
// not measure.
func (r *runner) refused(l *rowLoad) Row {
	why := fmt.Sprintf("load of other work %.2f, bound %g", l.other, r.cfg.MaxLoad)
	if l.err != nil {
		why = "load unreadable: " + l.err.Error()
	}
	return Row{Phase: PhaseSkipped, Note: fmt.Sprintf("refused: %s, after waiting up to %v", why, max(r.cfg.LoadWait, 0))}
}

// runLists generates the lists of n providers of size entries and measures
// every point in group over them, one system at a time.
func (r *runner) runLists(ctx context.Context, n, size int, group []point) error {
	log := r.cfg.Logger
	log.Info("generating lists", "providers", n, "entries", size)
	w, err := newWorkload(r.cfg.Seed, n, size)
	if err != nil {
		return err
	}
	batches := map[[2]int]*drawn{}
	var keys []setupKey
	for _, p := range group {
		if k := p.setup(); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		// The set-up is timed too (the build and setup rows).
		load, err := r.settle(ctx)
		if err != nil {
			return err
		}
		log.Info("setting up", "protocol", k.protocol, "transport", k.transport, "providers", n, "entries", size)
		sys, cost, err := r.newSystem(ctx, k, w)
		if err != nil {
			return fmt.Errorf("set up %s over %s with %d providers of %d entries: %w", k.protocol, k.transport, n, size, err)
		}
		cost.load = load
		if ps, ok := sys.(processSystem); ok {
			r.cfg.judge.nodes = ps.processes()
		}
		err = r.measure(ctx, sys, cost, k, group, w, batches)
		if cerr := sys.close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s over %s: %w", k.protocol, k.transport, cerr)
		}
		// Stopped and waited for, the nodes count in harnessCPU now.
		r.cfg.judge.nodes = nil
		if err != nil {
			return err
		}
	}
	return nil
}

// drawn is a batch and its planted (item, provider) hit count. Every
// system over the same lists is asked the same batches.
type drawn struct {
	batch *synth.Batch
	want  int
}

// measure runs the points of group that use system k.
func (r *runner) measure(ctx context.Context, sys system, cost setupCost, k setupKey, group []point,
	w *workload, batches map[[2]int]*drawn) error {
	costSweeps := map[string]bool{}
	for _, p := range group {
		if p.setup() != k {
			continue
		}
		if cost.phase != "" && (p.sweep == SweepList || p.sweep == SweepProviders) && !costSweeps[p.sweep] {
			costSweeps[p.sweep] = true
			row := Row{Phase: cost.phase, Items: cost.items, Seconds: cost.seconds, CPUSeconds: cost.cpu}
			if cost.load.loaded && r.cfg.RefuseLoaded {
				row = r.refused(&cost.load)
			}
			r.emit(&p, 0, row, &cost.load)
		}
		for rep := range r.cfg.Reps {
			b, ok := batches[[2]int{p.batch, rep}]
			if !ok {
				batch, want, err := w.batch(p.batch, rep)
				if err != nil {
					return err
				}
				b = &drawn{batch: batch, want: want}
				batches[[2]int{p.batch, rep}] = b
			}
			load, err := r.settle(ctx)
			if err != nil {
				return err
			}
			if load.loaded && r.cfg.RefuseLoaded {
				r.emit(&p, rep, r.refused(&load), &load)
				continue
			}
			r.seq++
			m, err := sys.query(ctx, b.batch, r.seq)
			if err != nil {
				return fmt.Errorf("%s over %s, %d providers of %d entries, batch %d: %w",
					p.protocol, p.transport, p.providers, p.list, p.batch, err)
			}
			want := b.want
			if p.protocol == ProtocolVOPRF {
				want = listedItems(b.batch)
			}
			if m.hits != want {
				return fmt.Errorf("%w: %s over %s found %d hits, %d planted", ErrWrongResult, p.protocol, p.transport, m.hits, want)
			}
			row := Row{Phase: PhaseQuery, Items: p.batch * p.providers, Seconds: m.seconds, CPUSeconds: m.cpu, Hits: m.hits, WantHits: want,
				BytesUp: m.bytesUp, BytesDown: m.bytesDown}
			r.emit(&p, rep, row, &load)
			r.cfg.Logger.Info("measured", "sweep", p.sweep, "protocol", p.protocol, "transport", p.transport,
				"providers", p.providers, "list", p.list, "batch", p.batch, "rep", rep,
				"seconds", m.seconds, "items_per_s", row.ItemsPerSecond(), "other_load", load.other, "loaded", load.loaded)
		}
	}
	return nil
}

// newSystem sets up system k over w's lists.
func (r *runner) newSystem(ctx context.Context, k setupKey, w *workload) (system, setupCost, error) {
	switch {
	case k.protocol == ProtocolCatalog && k.transport == TransportInProcess:
		return newCatalogInProcess(ctx, w)
	case k.transport == TransportQUICNode && (k.protocol == ProtocolCatalog || k.protocol == ProtocolLive):
		bin, err := r.nodeBinary(ctx)
		if err != nil {
			return nil, setupCost{}, err
		}
		return newCatalogNodes(ctx, w, bin, r.cfg.TempDir, r.cfg.Logger, r.cfg.relayed, k.protocol == ProtocolLive)
	case k.protocol == ProtocolLive && k.transport == TransportInProcess:
		return newLiveInProcess(ctx, w)
	case k.protocol == ProtocolECDH && k.transport == TransportInProcess:
		return newECDHInProcess(w), setupCost{}, nil
	case k.protocol == ProtocolECDH && k.transport == TransportQUICPeer:
		s, err := newECDHPeer(ctx, w, r.cfg.relayed)
		return s, setupCost{}, err
	case k.protocol == ProtocolRecon:
		s, err := newReconNodes(ctx, w, r.cfg.TempDir)
		return s, setupCost{}, err
	case k.protocol == ProtocolVOPRF:
		s, err := newCirclVOPRF()
		return s, setupCost{}, err
	case k.protocol == ProtocolDHPSI:
		if r.matchBin == "" {
			bin, err := buildMatch(ctx, r.cfg.MatchDir, r.cfg.TempDir)
			if err != nil {
				return nil, setupCost{}, err
			}
			r.matchBin = bin
		}
		return newDHPSI(ctx, w, r.matchBin, r.cfg.TempDir)
	}
	return nil, setupCost{}, fmt.Errorf("no %s system over %s", k.protocol, k.transport)
}

// listedItems counts the items of b on at least one list.
func listedItems(b *synth.Batch) int {
	n := 0
	for i := range b.Items {
		if len(b.Items[i].Hits) > 0 {
			n++
		}
	}
	return n
}

// sortRows orders rows by sweep (in Sweeps order), then protocol,
// transport, providers, list, batch, phase and repetition.
func sortRows(rows []Row) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		if c := slices.Index(Sweeps, a.Sweep) - slices.Index(Sweeps, b.Sweep); c != 0 {
			return c
		}
		for _, c := range []int{
			cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Transport, b.Transport),
			a.Providers - b.Providers, a.List - b.List, a.Batch - b.Batch,
			cmp.Compare(a.Phase, b.Phase), a.Rep - b.Rep,
		} {
			if c != 0 {
				return c
			}
		}
		return 0
	})
}
