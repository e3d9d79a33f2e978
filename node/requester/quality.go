package requester

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// qualityTTL is how long the scores read from the ledger are reused: they
// move with reports, not with each query.
const qualityTTL = 30 * time.Second

// qualityCache keeps the ledger's rolling scores of one period, keyed by
// chaincode.FactorKey(provider, category).
type qualityCache struct {
	mu     sync.Mutex
	period uint64
	at     time.Time
	scores map[string]accounting.QualityScore
}

// scores returns the rolling scores of the current period, from the cache
// when fresh. Without Quality, or when the ledger cannot be read, it
// returns none: a query then asks every provider, in provider order.
func (r *Requester) scores(ctx context.Context, period uint64) map[string]accounting.QualityScore {
	if r.cfg.Quality == nil || period == 0 {
		return nil
	}
	c := &r.quality
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.period == period && r.cfg.Now().Sub(c.at) < qualityTTL {
		return c.scores
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PhaseTimeout)
	defer cancel()
	all, err := r.cfg.Quality.Scores(ctx, accounting.QualityQuery{Period: period})
	if err != nil {
		r.cfg.Logger.Warn("read quality scores", "err", err)
		return c.scores
	}
	c.period, c.at, c.scores = period, r.cfg.Now(), make(map[string]accounting.QualityScore, len(all))
	for _, s := range all {
		c.scores[chaincode.FactorKey(s.Provider, s.Category)] = s
	}
	return c.scores
}

// applyQuality applies a query's quality options to the providers chosen
// for it: it drops those whose shown confirmation rate is below
// min_confirmation_bp, and returns the ranking of the rest for
// rank_by_quality (nil without it).
func (r *Requester) applyQuality(req *riskmeshv1.QueryRequest, period uint64, providers []string) ([]string, map[string]uint32, error) {
	minBP, rank := req.GetMinConfirmationBp(), req.GetRankByQuality()
	if minBP > chaincode.BasisPoints {
		return nil, nil, fmt.Errorf("%w: min_confirmation_bp %d is past %d", ErrInvalidArgument, minBP, chaincode.BasisPoints)
	}
	if minBP > 0 && len(req.GetProviders()) > 0 {
		return nil, nil, fmt.Errorf("%w: min_confirmation_bp selects providers; it cannot be combined with a providers list", ErrInvalidArgument)
	}
	if minBP == 0 && !rank {
		return providers, nil, nil
	}
	scores := r.scores(r.ctx, period)
	var ranking map[string]uint32
	if rank {
		ranking = map[string]uint32{}
	}
	kept := providers[:0:0]
	for _, p := range providers {
		s, ok := scores[chaincode.FactorKey(p, req.GetCategory())]
		shown := ok && s.Confirmation.Shown
		if shown && s.Confirmation.BP < minBP {
			continue
		}
		if shown && rank {
			ranking[p] = s.Confirmation.BP
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return nil, nil, fmt.Errorf("%w: no provider of %s reaches a confirmation rate of %d basis points", ErrInvalidArgument, req.GetCategory(), minBP)
	}
	return kept, ranking, nil
}

// hitOrder orders an item's merged hits: by the ranking, best first, the
// providers without a shown rate last, then by provider.
func hitOrder(ranking map[string]uint32) func(a, b *riskmeshv1.Hit) int {
	return func(a, b *riskmeshv1.Hit) int {
		ra, oka := ranking[a.GetProvider()]
		rb, okb := ranking[b.GetProvider()]
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(rb, ra), strings.Compare(a.GetProvider(), b.GetProvider()))
	}
}

// providerQuality reports a provider's rolling scores in its categories
// and the factors the current period applies to it.
func (r *Requester) providerQuality(ctx context.Context, period *accounting.Period, provider string, categories []string) []*riskmeshv1.ProviderQuality {
	scores := r.scores(ctx, period.Number)
	var out []*riskmeshv1.ProviderQuality
	for _, c := range categories {
		key := chaincode.FactorKey(provider, c)
		s, scored := scores[key]
		f, factored := period.Factors[key]
		if !scored && !factored {
			continue
		}
		q := &riskmeshv1.ProviderQuality{
			Category: c, Coverage: s.Coverage, Shown: s.Confirmation.Shown,
			HitRateBp: s.HitRate.BP, ConfirmationBp: s.Confirmation.BP, WrongRateBp: s.WrongRate.BP,
			FromPeriod: s.From, ToPeriod: s.To, MultiplierBp: chaincode.BasisPoints,
		}
		if factored {
			q.MultiplierBp, q.Tier = f.Multiplier, uint32(f.Tier)
		}
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b *riskmeshv1.ProviderQuality) int { return strings.Compare(a.Category, b.Category) })
	return out
}

// priceOf is what one item costs from provider in the query's period: the
// category's price times the provider's quality factor, as the ledger
// bills it.
func (q *queryRun) priceOf(provider string) int64 {
	if q.period != nil {
		if p, ok := q.period.Price(q.rec.GetCategory(), accounting.ModeCatalog, provider); ok {
			return p
		}
	}
	return q.price
}
