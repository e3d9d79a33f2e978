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
	for j, hit := range o.results { // ANSWERED only
		if hit.Hit {
			for _, idx := range q.batch.indices[j] {
				res.Hits = append(res.Hits, &riskmeshv1.ProviderHit{Index: idx, Label: labelOf(hit.Label)})
			}
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

func labelOf(l catalog.Label) *riskmeshv1.Label {
	return &riskmeshv1.Label{
		CategoryCode:      uint32(l.Category),
		ReasonCode:        uint32(l.Reason),
		ListedDate:        l.Listed.String(),
		ProviderReference: slices.Clone(l.Reference[:]),
	}
}

// finish sets rec's final state and merged result from the pending part
// (items with invalid reasons, the providers asked) and the provider
// results so far; providers without a result are UNAVAILABLE.
func finish(rec *riskmeshv1.QueryRecord, pending *riskmeshv1.QueryResult, state riskmeshv1.QueryState, now time.Time) {
	result := &riskmeshv1.QueryResult{QueryId: rec.QueryId, CompletedAt: timestamppb.New(now)}
	result.Items = make([]*riskmeshv1.ItemResult, int(rec.Identifiers))
	for i := range result.Items {
		result.Items[i] = &riskmeshv1.ItemResult{Index: uint32(i)}
	}
	for _, it := range pending.Items {
		if int(it.Index) < len(result.Items) {
			result.Items[it.Index] = proto.Clone(it).(*riskmeshv1.ItemResult)
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
	for _, it := range result.Items {
		slices.SortFunc(it.Hits, hitOrder(rec.GetRanking()))
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
