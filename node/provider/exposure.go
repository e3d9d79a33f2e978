package provider

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/saturate"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// exposures is what the provider knows of each requester's standing: the
// ledger's exposure (settled balance, limit, spend recorded in unsettled
// periods), read every Config.ExposureRefresh, plus what this provider
// billed that the ledger may not show yet. A requester whose headroom does
// not cover a request is refused before anything is evaluated, whatever
// its own node's budget check said (docs/ledger.md, "Overdraft limits
// during a period").
//
// This provider's own bills are never missed: at a refresh it notes what
// it billed so far (mark), then reads its journal's pending entries, then
// the ledger. An entry billed before the mark is either still pending
// when the journal is read, or was recorded before, and so before the
// ledger read; one billed after the mark stays in since until the next
// refresh. A bill is journalled once its log record is durable, so the
// journal is read once the writes logged before the mark are folded into
// node.db: the outbox reads through the journal's committer, whose reads
// wait for that fold (journal.go). Evaluations
// under way are reserved (inflight) and count from the moment they pass
// the check. Counting an entry twice in the meantime only refuses sooner.
type exposures struct {
	refresh sync.Mutex // one ledger read at a time

	mu       sync.Mutex
	tried    time.Time // when the last read started, successful or not
	ledger   map[string]accounting.Exposure
	pending  map[string]int64 // journalled, not recorded, when the ledger was read
	since    map[string]int64 // billed by this provider since the mark
	inflight map[string]int64 // reserved by evaluations under way
}

// exposureRecheck is the least time since the last read before a request
// from a requester the figures do not list reads the ledger again (one
// registered since): requests cannot turn into ledger load, even while
// the ledger is unreachable.
const exposureRecheck = time.Second

// reserve checks that requester may be billed amount more and reserves it
// for the evaluation under way. On success the caller must call exactly
// one of the returned functions: billed once the answer is journalled,
// release if nothing was billed.
func (p *Provider) reserve(ctx context.Context, requester string, amount int64) (billed, release func(), refusal *riskmeshv1.PeerResponse) {
	x := &p.exposure
	x.mu.Lock()
	_, known := x.ledger[requester]
	x.mu.Unlock()
	if !known {
		// A read under way (the first one after a start, say) may list
		// the requester: wait for it before deciding to read again.
		x.refresh.Lock()
		x.mu.Lock()
		_, known = x.ledger[requester]
		stale := p.cfg.Now().Sub(x.tried) >= exposureRecheck
		x.mu.Unlock()
		x.refresh.Unlock()
		if !known && stale {
			if err := p.refreshExposures(ctx); err != nil {
				p.log.Warn("provider: exposure refresh failed", "err", err)
			}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.ledger[requester]
	switch {
	case !ok:
		return nil, nil, refuse(codeUnavailable, "the requester's exposure is not known yet")
	case e.Flagged:
		return nil, nil, refuse(codeOverLimit, "requester is flagged past its overdraft limit")
	}
	// Each term is bounded by the ledger's int64 arithmetic and a
	// provider's own bills; saturate rather than wrap all the same.
	headroom := e.Headroom
	for _, used := range []int64{x.pending[requester], x.since[requester], x.inflight[requester]} {
		headroom = saturate.Sub(headroom, used)
	}
	if amount > 0 && headroom < amount {
		return nil, nil, refuse(codeOverLimit, "the request's %d tokens pass the requester's overdraft limit", amount)
	}
	x.inflight[requester] += amount
	var once sync.Once
	billed = func() {
		once.Do(func() {
			x.mu.Lock()
			x.inflight[requester] -= amount
			x.since[requester] += amount
			x.mu.Unlock()
		})
	}
	release = func() {
		once.Do(func() {
			x.mu.Lock()
			x.inflight[requester] -= amount
			x.mu.Unlock()
		})
	}
	return billed, release, nil
}

// refreshExposures reads the requesters' exposures from the ledger and
// this provider's pending bills from its journal, in the order the type's
// comment explains.
func (p *Provider) refreshExposures(ctx context.Context) error {
	x := &p.exposure
	x.refresh.Lock()
	defer x.refresh.Unlock()
	x.mu.Lock()
	mark := maps.Clone(x.since)
	x.tried = p.cfg.Now()
	x.mu.Unlock()
	pending, err := p.outbox.PendingAmounts()
	if err != nil {
		return err
	}
	list, err := p.cfg.Ledger.Exposures(ctx)
	if err != nil {
		return err
	}
	byMSP := make(map[string]accounting.Exposure, len(list))
	for _, e := range list {
		byMSP[e.MSPID] = e
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for r, v := range mark {
		if x.since[r] -= v; x.since[r] == 0 {
			delete(x.since, r)
		}
	}
	x.ledger, x.pending = byMSP, pending
	return nil
}

// runExposures refreshes the exposures every Config.ExposureRefresh until
// ctx ends; a failed read keeps the last figures (with this provider's own
// bills still added to them) and is logged.
func (p *Provider) runExposures(ctx context.Context) {
	t := time.NewTicker(p.cfg.ExposureRefresh)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, p.cfg.ExposureRefresh+exposureTimeout)
		if err := p.refreshExposures(rctx); err != nil && ctx.Err() == nil {
			p.log.Warn("provider: exposure refresh failed; keeping the last figures", "err", err)
		}
		cancel()
		p.reportBacklog(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// exposureTimeout is added to the refresh interval to bound one read.
const exposureTimeout = 5 * time.Second
