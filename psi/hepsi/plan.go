package hepsi

import (
	"fmt"
	"slices"
)

// powerPlan says which powers of its items the requester encrypts (the
// sources) and how the provider derives every other power the
// Paterson-Stockmeyer evaluation needs with one multiplication each:
// x^1..x^{low-1} and x^{low}, x^{2·low}, ..., x^{high·low}.
//
// The sources are an additive basis of order two for each of the two
// ranges ({1..s} ∪ {2s, 3s, ...} with s ≈ √range), so every needed power is
// a source or the product of two sources: the whole evaluation has
// multiplicative depth two (one for the powers, one for x^{i·low}·q_i), which
// three ciphertext primes carry. A deeper plan would send fewer
// ciphertexts and need more primes; docs/protocol/hepsi.md weighs the two.
type powerPlan struct {
	low, high int
	sources   []int          // ascending
	derived   map[int][2]int // power -> two sources whose product it is
}

func newPowerPlan(capacity, low int) (powerPlan, error) {
	high := capacity / low
	need := make([]int, 0, low+high)
	for j := 1; j < low; j++ {
		need = append(need, j)
	}
	for i := 1; i <= high; i++ {
		need = append(need, i*low)
	}
	set := map[int]bool{}
	for _, b := range basis(low - 1) {
		set[b] = true
	}
	for _, b := range basis(high) {
		set[b*low] = true
	}
	plan := powerPlan{low: low, high: high, derived: map[int][2]int{}}
	for s := range set {
		plan.sources = append(plan.sources, s)
	}
	slices.Sort(plan.sources)
	for _, p := range need {
		if set[p] {
			continue
		}
		found := false
		for _, a := range plan.sources {
			if a > p/2 {
				break
			}
			if set[p-a] {
				plan.derived[p] = [2]int{a, p - a}
				found = true
				break
			}
		}
		if !found {
			return powerPlan{}, fmt.Errorf("%w: power %d has no depth-one derivation", ErrParams, p)
		}
	}
	return plan, nil
}

// basis returns an additive basis of order two for 1..m.
func basis(m int) []int {
	if m < 1 {
		return nil
	}
	s := 1
	for s*s < m {
		s++
	}
	out := make([]int, 0, 2*s)
	for j := 1; j <= s && j <= m; j++ {
		out = append(out, j)
	}
	for k := 2; k*s <= m; k++ {
		out = append(out, k*s)
	}
	return out
}
