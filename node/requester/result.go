package requester

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// storable returns res, with its texts made printable again if it cannot
// be encoded. Every remote text is made printable where it enters, so this
// should never change anything; it is what keeps one provider's part from
// failing the record's every later write, the stream and thereby the
// other providers' parts if a path was missed.
func storable(res *riskmeshv1.ProviderResult) *riskmeshv1.ProviderResult {
	if _, err := proto.Marshal(res); err == nil {
		return res
	}
	res.Provider = truncate(res.Provider)
	if res.Error != nil {
		res.Error.Message = truncate(res.Error.Message)
	}
	for _, h := range res.Hits {
		if h.Label != nil {
			h.Label.ListedDate = truncate(h.Label.ListedDate)
		}
	}
	for _, d := range res.Disputes {
		d.Reason = truncate(d.Reason)
		if k := d.Key; k != nil {
			k.Requester, k.Responder = truncate(k.Requester), truncate(k.Responder)
		}
	}
	return res
}

// fill sets res from the outcomes of the provider's requests, which cover
// q's distinct identifiers in order and are billed at price per item, and
// returns what to persist with it.
func (r *Requester) fill(res *riskmeshv1.ProviderResult, q *queryRun, outcomes []outcome, price int64) saved {
	o := merge(outcomes)
	res.Items = uint32(len(q.batch.ids))
	res.Status, res.Error, res.Attempts = o.status, o.err, o.attempts
	res.Hits = nil
	n := 0
	for j, hit := range o.results { // ANSWERED only
		if hit.Hit {
			n += len(q.batch.indices[j])
		}
	}
	// A large answer has hundreds of hits, built between the answer and
	// the result commit: their messages, labels and references are carved
	// out of one array each.
	hits, labels := make([]riskmeshv1.ProviderHit, n), make([]riskmeshv1.Label, n)
	refs := make([]byte, n*referenceSize)
	if n > 0 {
		res.Hits = make([]*riskmeshv1.ProviderHit, 0, n)
	}
	for j, hit := range o.results {
		if !hit.Hit {
			continue
		}
		for _, idx := range q.batch.indices[j] {
			k := len(res.Hits)
			ref := refs[k*referenceSize : (k+1)*referenceSize : (k+1)*referenceSize]
			setLabel(&labels[k], hit.Label, ref)
			hits[k].Index, hits[k].Label = idx, &labels[k]
			res.Hits = append(res.Hits, &hits[k])
		}
	}
	slices.SortFunc(res.Hits, func(a, b *riskmeshv1.ProviderHit) int { return cmp.Compare(a.Index, b.Index) })
	res.Amount = int64(o.billed) * price
	res.Disputes = r.disputes(o.disputed)
	res.Exchanges = o.sent
	return saved{transcripts: o.transcripts, spend: res.Amount}
}

// disputes reports disputed exchanges: PENDING when this node files
// disputes (Config.Disputed), UNSPECIFIED otherwise.
func (r *Requester) disputes(ds []disputedExchange) []*riskmeshv1.ExchangeDispute {
	state := riskmeshv1.DisputeState_DISPUTE_STATE_UNSPECIFIED
	if r.cfg.Disputed != nil {
		state = riskmeshv1.DisputeState_DISPUTE_STATE_PENDING
	}
	var out []*riskmeshv1.ExchangeDispute
	for _, d := range ds {
		k := d.key
		out = append(out, &riskmeshv1.ExchangeDispute{
			Key:   &riskmeshv1.EntryKey{Period: k.Period, Requester: k.Requester, Responder: k.Responder, Sequence: k.Sequence},
			State: state, Reason: d.reason,
		})
	}
	return out
}

// referenceSize is the length of a label's provider reference.
const referenceSize = len(catalog.Label{}.Reference)

// setLabel sets dst to the API's form of l, its provider reference copied
// into ref (referenceSize bytes).
func setLabel(dst *riskmeshv1.Label, l catalog.Label, ref []byte) {
	copy(ref, l.Reference[:])
	dst.CategoryCode, dst.ReasonCode = uint32(l.Category), uint32(l.Reason)
	dst.ListedDate, dst.ProviderReference = l.Listed.String(), ref
}

// finish sets rec's final state and merged result from the pending part
// (items with invalid reasons, the providers asked) and the provider
// results so far; providers without a result are UNAVAILABLE.
//
// It runs between a query's last answer and its result commit, so it builds
// the items without cloning them one by one: they are allocated as one
// array (they live and die with the result), and of a pending item only
// what the pending part records (normalize, refinish) is copied, its
// invalid reason and detail.
func finish(rec *riskmeshv1.QueryRecord, pending *riskmeshv1.QueryResult, state riskmeshv1.QueryState, now time.Time) {
	result := &riskmeshv1.QueryResult{QueryId: rec.QueryId, CompletedAt: timestamppb.New(now)}
	items := make([]riskmeshv1.ItemResult, int(rec.Identifiers))
	result.Items = make([]*riskmeshv1.ItemResult, len(items))
	for i := range items {
		items[i].Index = uint32(i)
		result.Items[i] = &items[i]
	}
	for _, it := range pending.Items {
		if int(it.Index) < len(items) {
			items[it.Index].InvalidReason, items[it.Index].InvalidDetail = it.InvalidReason, it.InvalidDetail
		}
	}
	done := map[string]bool{}
	for _, pr := range rec.ProviderResults {
		done[pr.Provider] = true
		summary := proto.Clone(pr).(*riskmeshv1.ProviderResult)
		summary.Hits = nil
		result.Providers = append(result.Providers, summary)
		result.Amount += pr.Amount
		if pr.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			continue
		}
		for _, h := range pr.Hits {
			if int(h.Index) < len(result.Items) {
				it := result.Items[h.Index]
				it.Hits = append(it.Hits, &riskmeshv1.Hit{Provider: pr.Provider, Label: h.Label})
			}
		}
	}
	for _, p := range pending.Providers {
		if !done[p.Provider] {
			result.Providers = append(result.Providers, &riskmeshv1.ProviderResult{
				Provider: p.Provider,
				Status:   riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE,
				Error:    stopped(),
			})
		}
	}
	order := hitOrder(rec.GetRanking())
	for i := range items {
		if len(items[i].Hits) > 1 {
			slices.SortFunc(items[i].Hits, order)
		}
	}
	slices.SortFunc(result.Providers, func(a, b *riskmeshv1.ProviderResult) int { return strings.Compare(a.Provider, b.Provider) })
	rec.State, rec.Result = state, result
}

// refinish rebuilds a finished record's merged result from its provider
// results after one of them changed (a late answer), keeping its state,
// completion time, items and the providers asked.
func refinish(rec *riskmeshv1.QueryRecord) {
	old := rec.GetResult()
	pending := &riskmeshv1.QueryResult{}
	for _, it := range old.GetItems() {
		pending.Items = append(pending.Items, &riskmeshv1.ItemResult{
			Index: it.Index, InvalidReason: it.InvalidReason, InvalidDetail: it.InvalidDetail,
		})
	}
	for _, p := range old.GetProviders() {
		pending.Providers = append(pending.Providers, &riskmeshv1.ProviderResult{Provider: p.Provider})
	}
	finish(rec, pending, rec.State, old.GetCompletedAt().AsTime())
}
