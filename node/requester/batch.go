package requester

import (
	"context"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// part is one query's share of a request to one provider, waiting to be
// sent alone or coalesced with others.
type part struct {
	ids      []ident.ID
	deadline time.Time
	// created is the creation commit of the part's query: the exchange
	// carrying the part is prepared meanwhile and leaves once it ended
	// well (admit). nil: the query was created before the part was
	// submitted (a live part).
	created *creation
	// done is buffered; it receives once the outcomes of the part's
	// identifiers, in order: its share of the exchange, or one outcome per
	// request if it had to be split.
	done chan []outcome
}

type batchKey struct {
	provider, category string
	period             uint64
	// liveParams and liveKey, for a live part, name the parameters and
	// the POPRF key it is asked under (zero for a catalog part): catalog
	// and live parts never share an exchange, nor live parts asked under
	// parameters or a key that changed in between.
	liveParams [transcript.DigestSize]byte
	liveKey    oprf.KeyID
}

// batch is the parts collected for one (provider, category, period)
// while a request to it is in flight.
type batch struct {
	x     exchange // ids filled at flush
	parts []*part
	items int
	stop  func() bool // stops the window's timer
}

// batcher coalesces small concurrent parts to the same provider into one
// exchange (one transcript, one sequence number, one signature) of at most
// the provider's batch limit (batchLimit), then splits the outcome back.
// Live parts coalesce the same way, among themselves: one POPRF step and
// one homomorphic query carry them all, up to the live parameters' batch
// size.
// The window is adaptive: a part goes at once when no request for its
// (provider, category, period) is in flight, and otherwise waits for the
// requests in flight to end, at most the window, gathering the parts that
// arrive meanwhile (docs/node-requester.md, "Coalescing"). A window below
// zero sends every part on its own.
type batcher struct {
	r *Requester
	// afterFunc starts the window's timer: time.AfterFunc, or a timer the
	// tests control.
	afterFunc func(time.Duration, func()) (stop func() bool)

	mu       sync.Mutex
	pending  map[batchKey]*batch
	inFlight map[batchKey]int // requests sent and not yet ended
}

func newBatcher(r *Requester) batcher {
	return batcher{
		r: r,
		afterFunc: func(d time.Duration, f func()) func() bool {
			return time.AfterFunc(d, f).Stop
		},
		pending:  make(map[batchKey]*batch),
		inFlight: make(map[batchKey]int),
	}
}

// submit queues p for the exchange x describes (its ids unset); p.done
// receives the outcome. With inline set, a part that goes at once (no
// request to wait for) goes on the caller's goroutine, submit returning
// once p.done holds its outcome: handing it to a worker and its outcome
// back costs two wake-ups of another core, some 50 µs each on the
// project's machine (docs/benchmarks.md, "Hand-offs on the one-provider
// path"). A caller that has other parts to submit after p passes false.
func (b *batcher) submit(x exchange, p *part, inline bool) {
	window := b.r.cfg.BatchWindow
	k := batchKey{provider: x.inst.MSPID, category: x.category, period: x.period}
	if x.live != nil {
		k.liveParams, k.liveKey = x.live.digest, x.live.key.KeyID()
	}
	b.mu.Lock()
	bt := b.pending[k]
	limit := b.r.exchangeLimit(&x)
	if bt != nil && bt.items+len(p.ids) > limit {
		b.detach(k, bt)
		bt = nil
	}
	if window < 0 || bt == nil && b.inFlight[k] == 0 {
		// Nothing to wait for: waiting would only add latency.
		alone := &batch{x: x, parts: []*part{p}, items: len(p.ids)}
		if !inline {
			b.send(k, alone)
			b.mu.Unlock()
			return
		}
		b.inFlight[k]++
		b.mu.Unlock()
		b.run(alone, func() { b.ended(k) })
		return
	}
	defer b.mu.Unlock()
	if bt == nil {
		bt = &batch{x: x}
		b.pending[k] = bt
		bt.stop = b.afterFunc(window, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.pending[k] == bt {
				b.detach(k, bt)
			}
		})
	}
	bt.parts = append(bt.parts, p)
	bt.items += len(p.ids)
	if bt.items >= limit {
		b.detach(k, bt)
	}
}

// detach removes bt from the pending set and sends it. b.mu is held.
func (b *batcher) detach(k batchKey, bt *batch) {
	delete(b.pending, k)
	bt.stop()
	b.send(k, bt)
}

// send counts bt in flight and flushes it. b.mu is held.
func (b *batcher) send(k batchKey, bt *batch) {
	b.inFlight[k]++
	b.flush(bt, func() { b.ended(k) })
}

// ended counts one request for k out of flight; when none is left, the
// parts waiting for it go at once rather than at the window's end.
func (b *batcher) ended(k batchKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight[k]--; b.inFlight[k] > 0 {
		return
	}
	delete(b.inFlight, k)
	if bt := b.pending[k]; bt != nil {
		b.detach(k, bt)
	}
}

// flush runs bt (run) in the background; ended runs once every part has
// its outcome.
func (b *batcher) flush(bt *batch, ended func()) {
	b.r.wg.Add(1)
	workers.Go(func() {
		defer b.r.wg.Done()
		b.run(bt, ended)
	})
}

// run sends bt as one exchange, bounded by the earliest deadline of its
// parts (so no part's caller waits past its own deadline), and hands every
// part its share of the outcome: its slice of the results (a live
// exchange's decrypted answer as much as a catalog look-up's), its items
// billed, and its share of a late fetch. A catalog exchange is blinded and
// signed while its parts' queries' creations commit, and sent once every
// one of them is durable (admit). If the provider accepts fewer items than
// were sent, each part is sent again on its own, split to fit. ended runs
// once every part has its outcome.
func (b *batcher) run(bt *batch, ended func()) {
	r := b.r
	defer ended()
	for parts := bt.parts; len(parts) > 0; {
		x := bt.x
		x.ids = make([]ident.ID, 0, bt.items)
		deadline := parts[0].deadline
		for _, p := range parts {
			if p.deadline.Before(deadline) {
				deadline = p.deadline
			}
			x.ids = append(x.ids, p.ids...)
		}
		var (
			prepared *blindedRequest
			o        outcome
		)
		if x.live == nil {
			prepared, o = r.prepare(&x)
		}
		if kept := admit(parts); len(kept) < len(parts) {
			// Prepared for parts that may not leave: prepared again
			// for the others, its sequence number unused (a gap,
			// which the ledger allows).
			parts = kept
			continue
		}
		ctx, cancel := context.WithDeadline(r.ctx, deadline)
		switch {
		case x.live != nil:
			o = r.liveBatch(ctx, &x)
		case prepared != nil:
			o = r.send(ctx, &x, prepared)
		}
		r.share(ctx, x, parts, o)
		cancel()
		return
	}
}

// admit waits for the creation of each part's query and returns the parts
// whose query was created. Each other part receives an outcome without
// being sent: its query persists and reports nothing (execute).
func admit(parts []*part) []*part {
	kept := parts[:0:0]
	for _, p := range parts {
		if p.created == nil || p.created.wait() {
			kept = append(kept, p)
			continue
		}
		p.done <- []outcome{failed(riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED,
			riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "query not persisted; nothing sent", 0)}
	}
	return kept
}

// share hands each of parts, the parts exchange x carried in order, its
// share of x's outcome o, sending a part again on its own, split, if the
// provider asked for smaller batches.
func (r *Requester) share(ctx context.Context, x exchange, parts []*part, o outcome) {
	offset := 0
	for _, p := range parts {
		var share []outcome
		if o.maxItems > 0 {
			share = r.runSplit(ctx, x, p.ids, o.maxItems)
			share[0].attempts += o.attempts
		} else {
			share = []outcome{o.slice(offset, len(p.ids))}
		}
		offset += len(p.ids)
		p.done <- share
	}
}

// exchangeLimit is the most items exchange x may carry: the provider's
// batch limit and, live, the parameters' batch size (the cuckoo table's
// capacity).
func (r *Requester) exchangeLimit(x *exchange) int {
	limit := r.batchLimit(x.inst.MSPID)
	if x.live != nil {
		limit = min(limit, x.live.params.MaxBatch)
	}
	return limit
}

// batchLimit is the most items one request to provider may carry:
// MaxBatch, or less if the provider said so.
func (r *Requester) batchLimit(provider string) int {
	if m, ok := r.limits.Load(provider); ok {
		return min(m.(int), r.cfg.MaxBatch)
	}
	return r.cfg.MaxBatch
}
