package accounting

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// QualityReport is a period's quality as a reader sees it: the policy the
// period captured and the price factors it set (why each provider pays its
// multiplier), the scores, and each earlier period's own scores.
type QualityReport struct {
	Period  uint64                    `json:"period"`
	Policy  *QualityPolicy            `json:"policy"`
	Factors map[string]PriceFactor    `json:"factors,omitempty"`
	Scores  []QualityScore            `json:"scores"`
	History map[uint64][]QualityScore `json:"history,omitempty"`
}

// MaxQualityHistory bounds the earlier periods one report reads.
const MaxQualityHistory = 24

// ReadQualityReport reads the report of q.Period (0: the current period)
// for q's provider and category (empty: all), with q.Window the scores'
// window (0: the policy's) and history earlier periods' own scores.
func ReadQualityReport(ctx context.Context, l interface {
	Periods
	Quality
}, q QualityQuery, history uint32) (*QualityReport, error) {
	if history > MaxQualityHistory {
		return nil, fmt.Errorf("accounting: quality history of %d periods: at most %d", history, MaxQualityHistory)
	}
	p, err := l.Period(ctx, q.Period)
	if err != nil {
		return nil, err
	}
	r := &QualityReport{Period: p.Number, Policy: p.Quality, Factors: map[string]PriceFactor{}}
	for k, f := range p.Factors {
		if (q.Provider == "" || f.Provider == q.Provider) && (q.Category == "" || f.Category == q.Category) {
			r.Factors[k] = f
		}
	}
	q.Period = p.Number
	if r.Scores, err = l.Scores(ctx, q); err != nil {
		return nil, err
	}
	for i := uint64(1); i <= uint64(history) && i < p.Number; i++ {
		if r.History == nil {
			r.History = map[uint64][]QualityScore{}
		}
		q.Period, q.Window = p.Number-i, 1
		if r.History[q.Period], err = l.Scores(ctx, q); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseQualityTier reads a tier written "MIN:MULTIPLIER", both in basis
// points (9000:12000: a confirmation rate of 90% or more pays 1.2 x price).
func ParseQualityTier(s string) (QualityTier, error) {
	minConf, mult, ok := strings.Cut(s, ":")
	a, errA := strconv.ParseUint(minConf, 10, 32)
	b, errB := strconv.ParseUint(mult, 10, 32)
	if !ok || errA != nil || errB != nil {
		return QualityTier{}, fmt.Errorf("tier %q: want MIN_CONFIRMATION_BP:MULTIPLIER_BP, e.g. 9000:12000", s)
	}
	return QualityTier{MinConfirmation: uint32(a), Multiplier: uint32(b)}, nil
}
