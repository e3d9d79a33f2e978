package chaincode

import (
	"fmt"
	"math"
	"math/bits"
)

// The quality policy is set like prices: by the regulator, at any time,
// captured into the next period that opens (Rollover) and applied from
// then on. When a period opens, Rollover also places each provider and
// category that has a shown rolling confirmation rate in a tier of the
// policy, and keeps the tier, the multiplier and the score that placed it
// on the period record (Period.Factors): every entry of the period is
// billed at price x multiplier, and anyone reading the period sees why.
//
// The rolling score is the one ending at the newest snapshotted period:
// reports on a period are final once it is snapshotted, so the score that
// sets a price cannot change after it did.

// Policy bounds.
const (
	// MinPolicyRequesters is the least MinRequesters a policy may set: with
	// three requesters one of them moves a median only between the other
	// two's rates, with two it could move it halfway to anything.
	MinPolicyRequesters = 3
	// MaxWindow bounds the periods a rolling score reads.
	MaxWindow = 12
	// MaxTiers bounds a policy's tiers.
	MaxTiers = 8
	// MaxMultiplier is the highest multiplier, x10.
	MaxMultiplier = 10 * BasisPoints
	// maxFactorLookback bounds how far back from the new period Rollover
	// looks for a snapshotted period to score.
	maxFactorLookback = MaxWindow
)

// DefaultQualityPolicy is the policy before the regulator sets one: scores
// shown from three requesters, over three periods, and every price x1.
func DefaultQualityPolicy() *QualityPolicy {
	return &QualityPolicy{MinRequesters: MinPolicyRequesters, Window: 3, Tiers: []QualityTier{{MinConfirmation: 0, Multiplier: BasisPoints}}}
}

// Validate checks the policy against the bounds.
func (q *QualityPolicy) Validate() error {
	switch {
	case q.MinRequesters < MinPolicyRequesters:
		return newError(CodeInvalidArgument, fmt.Sprintf("minRequesters must be at least %d", MinPolicyRequesters))
	case q.Window == 0 || q.Window > MaxWindow:
		return newError(CodeInvalidArgument, fmt.Sprintf("window must be 1 to %d periods", MaxWindow))
	case len(q.Tiers) == 0 || len(q.Tiers) > MaxTiers:
		return newError(CodeInvalidArgument, fmt.Sprintf("a policy has 1 to %d tiers", MaxTiers))
	case q.Tiers[len(q.Tiers)-1].MinConfirmation != 0:
		return newError(CodeInvalidArgument, "the last tier's minConfirmation must be 0, so every score has a tier")
	}
	for i, t := range q.Tiers {
		if t.Multiplier == 0 || t.Multiplier > MaxMultiplier {
			return newError(CodeInvalidArgument, fmt.Sprintf("tier %d: multiplier must be 1 to %d basis points", i, MaxMultiplier))
		}
		if t.MinConfirmation > BasisPoints || (i > 0 && t.MinConfirmation >= q.Tiers[i-1].MinConfirmation) {
			return newError(CodeInvalidArgument, fmt.Sprintf("tier %d: minConfirmation must fall from tier to tier, at most %d", i, BasisPoints))
		}
	}
	return nil
}

// tier returns the index of the first tier confirmation reaches.
func (q *QualityPolicy) tier(confirmation uint32) int {
	for i, t := range q.Tiers {
		if confirmation >= t.MinConfirmation {
			return i
		}
	}
	return len(q.Tiers) - 1 // unreachable for a valid policy
}

func (c *Contract) setQualityPolicy(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var q QualityPolicy
	if err := decodeArg(arg, &q); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return nil, putJSON(st, keyQPolicy, &q)
}

// loadQualityPolicy returns the policy the next Rollover captures.
func loadQualityPolicy(st State) (*QualityPolicy, error) {
	q := &QualityPolicy{}
	ok, err := getJSON(st, keyQPolicy, q)
	if err != nil || !ok {
		return DefaultQualityPolicy(), err
	}
	return q, nil
}

func (c *Contract) getQualityPolicy(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	return loadQualityPolicy(st)
}

// FactorKey is the key of a provider's factor in Period.Factors.
func FactorKey(provider, category string) string { return provider + "/" + category }

// priceFactors places every provider and category with a shown rolling
// confirmation rate, ending at the newest snapshotted period before next,
// in a tier of policy. It reads the period records back from next-1 to the
// newest snapshotted one (at most maxFactorLookback) and the summaries of
// the window: keys no report can write any more.
func priceFactors(st State, policy *QualityPolicy, next uint64) (map[string]PriceFactor, error) {
	var scored uint64
	for n := next - 1; n > 0 && next-n <= maxFactorLookback; n-- {
		p, err := loadPeriod(st, n)
		if err != nil {
			return nil, err
		}
		if p.State == PeriodSnapshotted {
			scored = n
			break
		}
	}
	if scored == 0 {
		return nil, nil
	}
	from := windowFrom(scored, policy.Window)
	all, err := scores(st, from, scored, "", "", policy.MinRequesters)
	if err != nil {
		return nil, err
	}
	factors := map[string]PriceFactor{}
	for _, s := range all {
		if !s.Confirmation.Shown {
			continue
		}
		i := policy.tier(s.Confirmation.BP)
		factors[FactorKey(s.Provider, s.Category)] = PriceFactor{
			Provider: s.Provider, Category: s.Category, Tier: i, Multiplier: policy.Tiers[i].Multiplier,
			Confirmation: s.Confirmation, From: from, To: scored,
		}
	}
	if len(factors) == 0 {
		return nil, nil
	}
	return factors, nil
}

// Price returns what one item of category answered by provider in mode
// costs in the period: the category's price in that mode times the
// provider's factor (x1 without one), rounded down. The factor is the
// provider's for the category, whatever the mode. ok is false if the
// category has no price in mode (PriceList.Base) or the product leaves the
// int64 range.
func (p *Period) Price(category string, mode Mode, provider string) (price int64, ok bool) {
	price, ok = p.Base(category, mode)
	if !ok || price < 0 {
		return 0, false
	}
	f, scored := p.Factors[FactorKey(provider, category)]
	if !scored || f.Multiplier == BasisPoints {
		return price, true
	}
	hi, lo := bits.Mul64(uint64(price), uint64(f.Multiplier))
	if hi >= BasisPoints {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, BasisPoints)
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}
