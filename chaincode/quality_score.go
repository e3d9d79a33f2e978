package chaincode

import (
	"cmp"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
)

// Scores are derived, never stored: a query reads the requesters'
// summaries (qsum/ keys) of the periods it covers and computes them, so
// there is nothing for anyone, the regulator included, to edit. Each
// requester's reports are first added up into that requester's own rates;
// a score is the median of those rates across requesters, shown only when
// at least the policy's MinRequesters requesters define it. However much a
// requester reports, it is one value among the medianed ones, and it can
// move the median only between the middle values of the other requesters'
// rates (docs/quality.md, "How far one requester moves a score").

// scoreGroup names one provider and category.
type scoreGroup struct{ provider, category string }

// collectSums adds up the summaries of periods from..to, per provider and
// category, per requester. An empty provider selects all providers.
func collectSums(st State, from, to uint64, provider, category string) (map[scoreGroup]map[string]*QualitySum, error) {
	out := map[scoreGroup]map[string]*QualitySum{}
	for n := from; n <= to; n++ {
		prefix := prefixQSum + num(n) + "/"
		if provider != "" {
			prefix += provider + "/"
			if category != "" {
				prefix += category + "/"
			}
		}
		err := scan(st, prefix, rangeEnd(prefix), func(k string, v []byte) (bool, error) {
			parts := strings.Split(k[len(prefixQSum)+numWidth+1:], "/")
			if len(parts) != 3 {
				return false, newError(CodeInternal, "malformed quality key "+k)
			}
			g := scoreGroup{parts[0], parts[1]}
			if category != "" && g.category != category {
				return true, nil
			}
			var s QualitySum
			if err := decodeStored(k, v, &s); err != nil {
				return false, err
			}
			byReq := out[g]
			if byReq == nil {
				byReq = map[string]*QualitySum{}
				out[g] = byReq
			}
			t := byReq[parts[2]]
			if t == nil {
				t = &QualitySum{}
				byReq[parts[2]] = t
			}
			t.Entries += s.Entries
			t.Items += s.Items
			t.Confirmed += s.Confirmed
			t.Wrong += s.Wrong
			t.Unknown += s.Unknown
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ratio returns num/den in basis points, at most BasisPoints; ok is false
// when den is 0. The product is 128-bit, so no summary overflows it.
func ratio(num, den uint64) (uint32, bool) {
	if den == 0 {
		return 0, false
	}
	if num >= den {
		return BasisPoints, true
	}
	hi, lo := bits.Mul64(num, BasisPoints)
	q, _ := bits.Div64(hi, lo, den) // num < den, so the quotient fits
	return uint32(q), true
}

// median returns the median of sorted values: the middle one, or the
// mean of the two middle ones, rounded down.
func median(sorted []uint32) uint32 {
	k := len(sorted)
	if k%2 == 1 {
		return sorted[k/2]
	}
	return uint32((uint64(sorted[k/2-1]) + uint64(sorted[k/2])) / 2)
}

// rateOf builds a Rate from the requesters' own rates.
func rateOf(values []uint32, minRequesters uint32) Rate {
	r := Rate{Requesters: uint32(len(values))}
	if r.Requesters < minRequesters || len(values) == 0 {
		return r
	}
	slices.Sort(values)
	r.BP, r.Shown, r.Values = median(values), true, values
	return r
}

// score computes one provider and category's score from its requesters'
// summaries.
func score(g scoreGroup, byReq map[string]*QualitySum, from, to uint64, minRequesters uint32) QualityScore {
	s := QualityScore{Provider: g.provider, Category: g.category, From: from, To: to}
	var hit, conf, wrong []uint32
	for _, r := range slices.Sorted(maps.Keys(byReq)) {
		t := byReq[r]
		if t.Entries == 0 {
			continue // every report it made was reversed
		}
		s.Coverage++
		s.Entries += t.Entries
		s.Items += t.Items
		s.Confirmed += t.Confirmed
		s.Wrong += t.Wrong
		s.Unknown += t.Unknown
		hits := t.Confirmed + t.Wrong + t.Unknown
		if v, ok := ratio(hits, t.Items); ok {
			hit = append(hit, v)
		}
		if v, ok := ratio(t.Confirmed, t.Confirmed+t.Wrong); ok {
			conf = append(conf, v)
		}
		if v, ok := ratio(t.Wrong, hits); ok {
			wrong = append(wrong, v)
		}
	}
	s.HitRate = rateOf(hit, minRequesters)
	s.Confirmation = rateOf(conf, minRequesters)
	s.WrongRate = rateOf(wrong, minRequesters)
	return s
}

// scores computes the scores of periods from..to, sorted by provider and
// category; an empty provider or category selects all.
func scores(st State, from, to uint64, provider, category string, minRequesters uint32) ([]QualityScore, error) {
	sums, err := collectSums(st, from, to, provider, category)
	if err != nil {
		return nil, err
	}
	groups := slices.SortedFunc(maps.Keys(sums), func(a, b scoreGroup) int {
		return cmp.Or(strings.Compare(a.provider, b.provider), strings.Compare(a.category, b.category))
	})
	out := make([]QualityScore, 0, len(groups))
	for _, g := range groups {
		out = append(out, score(g, sums[g], from, to, minRequesters))
	}
	return out, nil
}

// windowFrom returns the first period of a window of w periods ending at to.
func windowFrom(to uint64, w uint32) uint64 {
	if uint64(w) >= to {
		return 1
	}
	return to - uint64(w) + 1
}

// listQuality returns the scores a QualityQuery selects, each with the
// provider's declared statistics of the query's period. MinRequesters is
// the one of the policy the period opened with.
func (c *Contract) listQuality(st State, arg []byte) (any, error) {
	var q QualityQuery
	if err := decodeArg(arg, &q); err != nil {
		return nil, err
	}
	if (q.Provider != "" && !ValidMSPID(q.Provider)) || (q.Category != "" && !ValidCategory(q.Category)) {
		return nil, newError(CodeInvalidArgument, "invalid provider or category")
	}
	if q.Window > MaxWindow {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("window must be 1 to %d periods", MaxWindow))
	}
	p, err := loadPeriodOrCurrent(st, q.Period)
	if err != nil {
		return nil, err
	}
	n := p.Number
	policy := p.Quality
	if policy == nil {
		policy = DefaultQualityPolicy()
	}
	w := cmp.Or(q.Window, policy.Window)
	out, err := scores(st, windowFrom(n, w), n, q.Provider, q.Category, policy.MinRequesters)
	if err != nil {
		return nil, err
	}
	for i := range out {
		var cat Catalog
		if _, err := getJSON(st, catalogKey(out[i].Provider, out[i].Category, n), &cat); err != nil {
			return nil, err
		}
		out[i].Declared = cat.Stats
	}
	return out, nil
}
