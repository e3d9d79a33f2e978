package provider

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Provider is one node's provider side. It is safe for concurrent use.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	outbox *outbox.Outbox
	// journal logs the journal writes on requests' paths (journal.go) and
	// groups those of concurrent requests into shared commits. Reads that
	// must see a write whose request was answered go through its View.
	journal *groupcommit.Committer
	keys    map[string]*keyring // by category; the map is not written after New

	evMu       sync.Mutex
	evaluators map[evalKey]*oprf.Evaluator

	periods  periodCache
	exposure exposures
	cats     catalogSet
	live     liveSet
	answers  liveAnswers     // the latest live answers, for retries (liveanswers.go)
	heKeys   *hepsi.KeyCache // requesters' evaluation keys (liveserve.go)
	// answering holds the exchanges being answered or journalled and
	// not yet folded (answering.go).
	answering answering
	uploads   budgets // each requester's key upload budget (livebudgets.go)
	retries   budgets // each requester's live re-evaluation budget

	liveDecodes atomic.Uint64 // live queries decoded (LiveQueries)
	sources     sourceStates  // each list source's last good read and latest failure

	refresh chan struct{} // Refresh asks Run to look at the catalogs again; buffered 1

	importMu sync.Mutex // one Import at a time: they share the staging bucket
}

type evalKey struct {
	category string
	period   uint64
	key      oprf.KeyID
}

// New validates cfg, creates the provider's buckets and opens its outbox.
// Call Run to build catalogs and submit accounting entries.
func New(cfg Config) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	err = cfg.DB.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTranscripts, bucketReplay, bucketLive} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return createImportBuckets(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("provider: create buckets: %w", err)
	}
	p := &Provider{
		cfg:        cfg,
		log:        cfg.Logger,
		keys:       map[string]*keyring{},
		evaluators: map[evalKey]*oprf.Evaluator{},
		refresh:    make(chan struct{}, 1),
		heKeys:     hepsi.NewKeyCache(cfg.LiveKeyCache),
	}
	// The journal opens first: the outbox counts the bills its replay put.
	if err := p.openJournal(); err != nil {
		return nil, err
	}
	// The outbox reads and writes node.db through the journal's
	// committer, so that it counts every bill journalled before it reads.
	if p.outbox, err = outbox.Open(p.journal, cfg.Outbox); err != nil {
		p.journal.Close()
		return nil, err
	}
	p.exposure.since, p.exposure.inflight = map[string]int64{}, map[string]int64{}
	for cat, key := range cfg.Keys {
		p.keys[cat] = &keyring{current: key, previous: cfg.PreviousKeys[cat]}
	}
	if cfg.CorruptEvaluation {
		p.log.Warn("provider: MISBEHAVING NODE: every answer is corrupted on purpose (provider.misbehave: corrupt-evaluation); its answers will be disputed and reversed; never run this in a real consortium")
	}
	p.cats.init()
	if err := p.loadSources(); err != nil {
		p.journal.Close()
		return nil, fmt.Errorf("provider: last good reads: %w", err)
	}
	return p, nil
}

// Close waits for the journal write in flight to be folded into node.db
// and releases the journal's log file; journal writes fail afterwards (an
// answer is refused INTERNAL, not billed). Call it once Handle is no
// longer called and Run has returned, before node.db is closed.
func (p *Provider) Close() error { return p.journal.Close() }

// Outbox returns the provider's accounting journal (depth, dead entries,
// Drain on a graceful stop after Run returned).
func (p *Provider) Outbox() *outbox.Outbox { return p.outbox }

// OutboxDepth is the number of accounting entries not yet on the ledger,
// every answer that left before the call included: the outbox counts an
// entry once its write is folded into node.db, which OutboxDepth waits
// for (journal.go).
func (p *Provider) OutboxDepth() int {
	if err := p.Settle(); err != nil {
		p.log.Error("provider: journal fold", "err", err)
	}
	return p.outbox.Depth()
}

// Handle answers one peer request: catalog_info, catalog_download,
// evaluate, redeliver, live_info, live_query and live_key. Anything else is
// MALFORMED: this node serves catalog PSI and live mode only.
func (p *Provider) Handle(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	switch b := req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_CatalogInfo:
		return p.catalogInfo(b.CatalogInfo)
	case *riskmeshv1.PeerRequest_CatalogDownload:
		return p.catalogDownload(b.CatalogDownload)
	case *riskmeshv1.PeerRequest_Evaluate:
		return p.evaluate(ctx, who, b.Evaluate)
	case *riskmeshv1.PeerRequest_Redeliver:
		return p.redeliver(who, b.Redeliver)
	case *riskmeshv1.PeerRequest_LiveInfo:
		return p.liveInfo(b.LiveInfo)
	case *riskmeshv1.PeerRequest_LiveQuery:
		return p.liveQuery(ctx, who, b.LiveQuery)
	case *riskmeshv1.PeerRequest_LiveKey:
		return p.liveKey(who, b.LiveKey)
	case nil:
		return refuse(codeMalformed, "request has no body")
	default:
		return refuse(codeMalformed, "request kind not served by this provider")
	}
}

// Run builds and publishes the current period's catalogs, rebuilds them on
// a new period, prunes transcripts past retention, runs the outbox
// submitter, refreshes the requesters' exposures and reports the journal's
// backlog of a period in grace, until ctx ends. It returns ctx's error.
func (p *Provider) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.outbox.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		p.runExposures(ctx)
	}()
	defer wg.Wait()
	defer p.saveLiveAll()

	retry := time.NewTimer(p.cfg.RetryBuild) // armed only after a failure
	retry.Stop()
	for {
		changes := p.cfg.Directory.Changes()
		if failed := p.maintain(ctx); failed {
			retry.Reset(p.cfg.RetryBuild)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changes:
		case <-p.refresh:
		case <-retry.C:
		}
	}
}

// maintain brings the catalogs and the journal in line with the current
// period. It reports whether some catalog could not be built or published.
func (p *Provider) maintain(ctx context.Context) (failed bool) {
	period := p.cfg.Directory.View().Period.Number
	if period == 0 {
		return false
	}
	for _, cat := range p.categories() {
		if ctx.Err() != nil {
			return false
		}
		if p.cfg.Directory.View().Period.Number != period {
			// A newer period opened during this pass: the rest of this
			// period's catalogs are superseded before anyone downloads
			// them, and Run passes again at once (the change woke it).
			return failed
		}
		if !p.servesCatalog(cat) {
			continue
		}
		p.reopenPrevious(ctx, cat, period-1)
		if err := p.ensureCatalog(ctx, cat, period); err != nil {
			if ctx.Err() != nil {
				return false
			}
			failed = true
			p.log.Error("provider: catalog not ready", "category", cat, "period", period, "err", err)
		}
		if err := p.removeOldFiles(cat, period); err != nil {
			p.log.Warn("provider: remove old catalog files", "category", cat, "err", err)
		}
	}
	p.syncLiveAll(ctx, p.categories())
	p.cats.prune(period)
	p.pruneEvaluators(period)
	if err := p.pruneTranscripts(period); err != nil {
		p.log.Error("provider: prune transcripts", "err", err)
	}
	return failed
}

// evaluator returns the cached evaluator of key for a provided category and
// period.
func (p *Provider) evaluator(category string, period uint64, key *oprf.PrivateKey) (*oprf.Evaluator, error) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	k := evalKey{category, period, key.Public().KeyID()}
	if ev, ok := p.evaluators[k]; ok {
		return ev, nil
	}
	ev, err := catalogpsi.NewProvider(p.cfg.MSPID, key).Evaluator(category, period)
	if err != nil {
		return nil, err
	}
	p.evaluators[k] = ev
	return ev, nil
}

// pruneEvaluators drops evaluators of periods before the previous one.
func (p *Provider) pruneEvaluators(current uint64) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	for k := range p.evaluators {
		if k.period+1 < current {
			delete(p.evaluators, k)
		}
	}
}
