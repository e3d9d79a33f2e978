package requester

import (
	"context"
	"errors"
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
	norm  *ident.Normalizer

	// limits holds, per provider MSP id, the most items per request it
	// said it accepts when it refused a larger batch (an int).
	limits  sync.Map
	batcher batcher
	budget  budget
	late    lateFetches
	heKeys  heKeys // live mode's key pairs (livestep.go)
	grace   graceCheck
	spendMu sync.RWMutex // orders spend writes (read-locked, so they share commits) with refreshSpend
	// reconcileMu makes reconciliation passes one at a time.
	reconcileMu sync.Mutex
	// feedback wakes the submission of outcome reports (feedback_submit.go).
	feedback chan struct{}
	// quality caches the providers' scores (quality.go).
	quality qualityCache

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

// tick is how often Run checks whether retention is due, on Config.Now's
// clock.
const tick = time.Second

// New opens the requester's buckets in cfg.DB, marks the queries a previous
// run left RUNNING as INTERRUPTED and loads the unsettled spend.
func New(cfg Config) (*Requester, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.DB, cfg.Seal, cfg.Now, cfg.Recorded, cfg.Pruned)
	if err != nil {
		return nil, err
	}
	norm, err := ident.New(cfg.Identifiers)
	if err != nil {
		return nil, err
	}
	r := &Requester{
		cfg:      cfg,
		store:    st,
		seqs:     newSequences(st),
		norm:     norm,
		running:  make(map[string]chan struct{}),
		feedback: make(chan struct{}, 1),
	}
	r.batcher = newBatcher(r)
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

// Run forgets spend that settlement has counted, applies retention,
// prepares live keys ahead of queries (livekeys.go) and, with
// Config.Bills, reconciles the bills every ReconcileInterval, until ctx
// ends. The catalogs are the mirror's to keep (node/mirror's Run).
func (r *Requester) Run(ctx context.Context) error {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var (
		lastPrune  time.Time
		background sync.WaitGroup
	)
	defer background.Wait()
	if r.cfg.Bills != nil && r.cfg.ReconcileInterval > 0 {
		background.Go(func() { r.runReconcile(ctx) })
	}
	if r.cfg.Quality != nil {
		background.Go(func() { r.runFeedback(ctx) })
	}
	background.Go(func() { r.runLiveKeys(ctx) })
	changed := true // the first pass does everything
	for {
		changes := r.cfg.Directory.Changes()
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
		case <-ticker.C:
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
	if _, ferr := r.store.pruneFeedback(minPeriod); ferr != nil {
		err = errors.Join(err, ferr)
	}
	r.seqs.forget(minPeriod)
	if q+t > 0 {
		r.cfg.Logger.Info("retention applied", "queries", q, "transcripts", t)
	}
	return err
}

// Settle returns once node.db holds every write the requester told
// durable before the call: its log's held fold is brought forward. A live
// backup of node.db (node/daemon) calls it first.
func (r *Requester) Settle() error { return r.store.settle() }

// Close stops running queries (they are persisted as INTERRUPTED), drops
// the late requests still pending, waits for in-flight exchanges and
// releases the requester's log. It closes neither cfg.DB nor cfg.Conns.
func (r *Requester) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return r.store.commits.Close()
}
