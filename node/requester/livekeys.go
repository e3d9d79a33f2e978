package requester

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Live keys ahead of queries (docs/protocol/hepsi.md, "Served by the
// node"): a live query needs this node's key pair for the provider,
// category and period, and the provider needs its evaluation key (1.57 MB
// at the presets). Made at the first query, they cost it the key pair
// (about 20 ms of CPU) and the key's upload and decoding. So the node
// makes them in the background when it learns that a provider serves a
// category live (at start, on every registry change, which includes a new
// period), one generation at a time, and sends the evaluation key ahead
// (LiveKeyUpload): the first query then names it by digest like any later
// one. A failure is logged and retried; a query that comes first makes or
// waits for the same key pair (heKeys) and carries the key if the upload
// has not gone through.
//
// A provider budgets each requester's uploads (node/provider's
// Config.LiveKeyUploads): one refused RATE_LIMITED says when the next is taken,
// and the node sends that provider no upload before then (deferUploads);
// its queries carry their key meanwhile, and one answered marks the key
// held, so the upload is not needed any more.

const (
	// liveKeysAhead bounds the (provider, category) pairs a node prepares
	// keys for in a period: each costs a 1.57 MB upload and about 3 MB
	// here and 1.6 MB in the provider's cache at the presets.
	liveKeysAhead = 16
	// A failed preparation is tried again after liveKeysRetry, doubling
	// per failure up to liveKeysMaxRetry, if no registry change comes
	// first: a provider's live database is built some seconds to minutes
	// after its period opens, and a LiveInfo request costs next to
	// nothing.
	liveKeysRetry    = time.Second
	liveKeysMaxRetry = 10 * time.Second
)

// runLiveKeys prepares the live keys of the current period at start and
// after every registry change, until ctx ends.
func (r *Requester) runLiveKeys(ctx context.Context) {
	retry := time.NewTimer(liveKeysRetry)
	retry.Stop()
	defer retry.Stop()
	failures := 0
	for {
		changes := r.cfg.Directory.Changes()
		if r.prepareLiveKeys(ctx) {
			failures++
			retry.Reset(backoff.Delay(liveKeysRetry, liveKeysMaxRetry, failures))
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-retry.C:
		}
	}
}

// preparedLiveKeys returns how many of this node's live key pairs of the
// current period a provider holds the evaluation key of, as far as the
// node knows: sent ahead of queries, or in a query the provider answered.
func (r *Requester) preparedLiveKeys() int {
	r.heKeys.mu.Lock()
	defer r.heKeys.mu.Unlock()
	if r.heKeys.period != r.cfg.Directory.View().Period.Number {
		return 0
	}
	n := 0
	for _, he := range r.heKeys.m {
		if he.sent.Load() {
			n++
		}
	}
	return n
}

// prepareLiveKeys makes the key pairs of the providers that serve live a
// category of the current period with a live price, and sends each
// evaluation key the provider does not hold yet as far as this node
// knows. A node whose queries default to catalog mode prepares nothing;
// in auto mode a query may still ask live (a fresh listing matters more
// than the catalog's price), so providers with a ready catalog are
// prepared too. It reports whether some pair failed
// for a reason that may pass (the provider unreachable or its live
// database not built yet).
func (r *Requester) prepareLiveKeys(ctx context.Context) (failed bool) {
	if r.cfg.Mode == riskmeshv1.QueryMode_QUERY_MODE_CATALOG {
		return false
	}
	view := r.cfg.Directory.View()
	period := view.Period.Number
	if period == 0 {
		return false
	}
	left := liveKeysAhead
	for _, category := range slices.Sorted(maps.Keys(view.Period.ModePrices[accounting.ModeLive])) {
		for _, inst := range view.Providers(category) {
			if left == 0 || ctx.Err() != nil {
				return failed
			}
			if inst.MSPID == r.cfg.MSPID {
				continue
			}
			left--
			if err := r.prepareLiveKey(ctx, inst, category, period); err != nil {
				r.cfg.Logger.Info("live key not prepared ahead", "provider", inst.MSPID, "category", category, "period", period, "err", err)
				failed = failed || err.Code != riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND
			}
		}
	}
	return failed
}

// prepareLiveKey makes this node's key pair for inst's live database of
// category in period (or finds it made) and sends inst its evaluation key
// unless inst holds it already as far as this node knows.
func (r *Requester) prepareLiveKey(ctx context.Context, inst accounting.Institution, category string, period uint64) *riskmeshv1.PeerError {
	x, refusal := r.liveSetupOf(ctx, inst, category, period)
	if refusal != nil {
		return refusal.err
	}
	he, err := r.heKeys.requester(x)
	if err != nil {
		return &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()}
	}
	if he.sent.Load() {
		return nil
	}
	if wait := r.heKeys.uploadWait(inst.MSPID, time.Now()); wait > 0 {
		return &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED,
			Message: fmt.Sprintf("provider takes the next key upload in %v", wait.Round(time.Second))}
	}
	key, _ := he.EvaluationKey().MarshalBinary()
	resp, err := r.cfg.Conns.Do(ctx, &inst, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
		Provider: inst.MSPID, Category: category, Period: period, Key: key,
	}}})
	if err != nil {
		var re *peer.RemoteError
		if errors.As(err, &re) && re.Code == riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED {
			r.heKeys.deferUploads(inst.MSPID, time.Now().Add(max(re.RetryAfter, liveKeysRetry)))
		}
		return peerFailure(err, 1).err
	}
	want := he.EvaluationKey().Digest()
	if string(resp.GetLiveKeyStored().GetKeyDigest()) != string(want[:]) {
		return &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, Message: "provider's receipt names another evaluation key"}
	}
	he.sent.Store(true)
	return nil
}

// deferUploads holds key uploads to provider back until until.
func (k *heKeys) deferUploads(provider string, until time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.uploadAfter == nil {
		k.uploadAfter = map[string]time.Time{}
	}
	k.uploadAfter[provider] = until
}

// uploadWait returns how long key uploads to provider are still held back
// at now (deferUploads), 0 if they are not.
func (k *heKeys) uploadWait(provider string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	until, ok := k.uploadAfter[provider]
	if !ok {
		return 0
	}
	if wait := until.Sub(now); wait > 0 {
		return wait
	}
	delete(k.uploadAfter, provider)
	return 0
}
