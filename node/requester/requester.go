package requester

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// Requester is the requester side of one node. It is safe for concurrent
// use.
type Requester struct {
	cfg   Config
	store *store
	seqs  *sequences
	conns *conns
	norm  *ident.Normalizer

	catalogs catalogs
	batcher  batcher
	budget   budget
	late     lateFetches
	grace    graceCheck
	spendMu  sync.Mutex // orders spend writes with refreshSpend
	// reconcileMu makes reconciliation passes one at a time.
	reconcileMu sync.Mutex

	// ctx bounds every query and background exchange; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	running map[string]chan struct{} // query id -> closed when it completes
}

// pruneEvery is how often Run applies the retention settings.
const pruneEvery = time.Hour

// retryTick is how often Run looks for catalog downloads whose back-off
// has expired.
const retryTick = time.Second

// New opens the requester's buckets in cfg.DB, marks the queries a previous
// run left RUNNING as INTERRUPTED and loads the unsettled spend. Catalogs
// already on disk are verified and loaded by the first Run pass.
func New(cfg Config) (*Requester, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.DB, cfg.Recorded)
	if err != nil {
		return nil, err
	}
	norm, err := ident.New(cfg.Identifiers)
	if err != nil {
		return nil, err
	}
	r := &Requester{
		cfg:     cfg,
		store:   st,
		seqs:    newSequences(cfg.DB),
		norm:    norm,
		running: make(map[string]chan struct{}),
	}
	r.conns = newConns(cfg.Dial, func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, r.cfg.PhaseTimeout)
	})
	r.catalogs = catalogs{
		slots:   make(chan struct{}, maxDownloads),
		m:       make(map[catalogKey]*remoteCatalog),
		changed: make(chan struct{}),
	}
	r.batcher = batcher{r: r, pending: make(map[batchKey]*batch)}
	r.late = lateFetches{changed: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := r.interruptLeftovers(); err != nil {
		return nil, err
	}
	spend, err := st.spend()
	if err != nil {
		return nil, fmt.Errorf("requester: load spend: %w", err)
	}
	var total int64
	for _, v := range spend {
		total += v
	}
	r.budget.set(total)
	return r, nil
}

// Run keeps the catalogs of the current period downloaded (at period start,
// when a provider publishes, and on retries after failures), forgets
// spend that settlement has counted, applies retention and, with
// Config.Bills, reconciles the bills every ReconcileInterval, until ctx
// ends.
func (r *Requester) Run(ctx context.Context) error {
	tick := time.NewTicker(retryTick)
	defer tick.Stop()
	var (
		lastPrune time.Time
		fetches   sync.WaitGroup
	)
	defer fetches.Wait()
	if r.cfg.Bills != nil && r.cfg.ReconcileInterval > 0 {
		fetches.Go(func() { r.runReconcile(ctx) })
	}
	changed := true // the first pass does everything
	for {
		changes := r.cfg.Directory.Changes()
		r.syncCatalogs(ctx, &fetches)
		// Settlement changes balances, hence the view: only then can a
		// period have become settled.
		if changed {
			if err := r.refreshSpend(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("refresh unsettled spend", "err", err)
			}
		}
		if now := r.cfg.Now(); now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			if err := r.prune(); err != nil {
				r.cfg.Logger.Warn("apply retention", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			changed = true
		case <-tick.C:
			changed = false
		}
	}
}

// prune deletes query records past QueryRetention and transcripts and
// sequence records more than TranscriptPeriods before the current period.
func (r *Requester) prune() error {
	current := r.cfg.Directory.View().Period.Number
	var minPeriod uint64
	if current > r.cfg.TranscriptPeriods {
		minPeriod = current - r.cfg.TranscriptPeriods
	}
	q, t, err := r.store.prune(r.cfg.Now().Add(-r.cfg.QueryRetention), minPeriod)
	r.seqs.forget(minPeriod)
	if q+t > 0 {
		r.cfg.Logger.Info("retention applied", "queries", q, "transcripts", t)
	}
	return err
}

// Close stops running queries (they are persisted as INTERRUPTED), drops
// the late requests still pending, waits for in-flight exchanges and
// closes provider connections. It does not close cfg.DB.
func (r *Requester) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.conns.close()
	return nil
}
