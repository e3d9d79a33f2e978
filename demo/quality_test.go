package demo

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/bench/synth"
)

// TestQualityPlan: over many seeds at the scales the tests and the
// default run use, the quality scene's batches give what the scene then
// checks on the network: Unreliable's score shown and in the policy's
// lowest tier, every other provider the requester asks shown with every
// hit confirmed, and identifiers on which a ranked query must list
// Unreliable's hit after a better provider's.
func TestQualityPlan(t *testing.T) {
	seeds := uint64(20)
	if testing.Short() {
		seeds = 5
	}
	for _, scale := range []int{MinScale, 3000, 20_000} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("scale %d seed %d", scale, seed), func(t *testing.T) {
				cons, err := synth.Generate(synth.Config{Seed: seed, Entries: scale, Institutions: institutions()})
				if err != nil {
					t.Fatal(err)
				}
				batches, err := qualityBatches(cons, seed, scale)
				if err != nil {
					t.Fatal(err)
				}
				tallies := plantedTallies(batches)
				scores := map[string]Score{}
				for p, byRequester := range tallies {
					scores[p] = expectScore(p, byRequester, int(qualityPolicy.MinRequesters))
				}
				bad := scores[Unreliable]
				if !bad.Shown || bad.Wrong == 0 || tier(bad.ConfirmationBP) != len(qualityPolicy.Tiers)-1 {
					t.Fatalf("%s: %+v, want shown in the lowest tier", Unreliable, bad)
				}
				ranking := map[string]uint32{}
				for p, s := range scores {
					if p == Requester {
						continue
					}
					if !s.Shown || (p != Unreliable && (s.ConfirmationBP != 10000 || s.Wrong != 0)) {
						t.Fatalf("%s: %+v, want shown (all confirmed but for %s)", p, s, Unreliable)
					}
					ranking[p] = s.ConfirmationBP
				}
				if len(ranking) != len(institutions())-1 {
					t.Fatalf("ranking %v, want every provider but %s", ranking, Requester)
				}
				last := 0
				for _, it := range batches[Requester].Items {
					var ps []string
					for _, h := range it.Hits {
						if h.Provider != Requester {
							ps = append(ps, h.Provider)
						}
					}
					if len(ps) > 1 && slices.Contains(ps, Unreliable) {
						last++
					}
				}
				if last == 0 {
					t.Errorf("no identifier of %s's batch hit by %s and another provider (ranking %v)", Requester, Unreliable, slices.Collect(maps.Keys(ranking)))
				}
			})
		}
	}
}

// TestExpectScore: the expected score follows docs/quality.md's worked
// example (confirmation 5000, 7500, 8888 and its median), and is not shown
// below the minimum of requesters.
func TestExpectScore(t *testing.T) {
	got := expectScore("P", map[string]tally{"A": {8, 1}, "B": {3, 1}, "C": {1, 1}}, 3)
	if !got.Shown || got.ConfirmationBP != 7500 || !slices.Equal(got.Values, []uint32{5000, 7500, 8888}) ||
		got.WrongRateBP != 2500 || got.Coverage != 3 || got.Confirmed != 12 || got.Wrong != 3 {
		t.Errorf("score %+v", got)
	}
	even := expectScore("P", map[string]tally{"A": {8, 1}, "B": {3, 1}, "C": {1, 1}, "D": {0, 1}}, 3)
	if even.ConfirmationBP != 6250 { // (5000 + 7500) / 2
		t.Errorf("even median %d, want 6250", even.ConfirmationBP)
	}
	few := expectScore("P", map[string]tally{"A": {8, 1}, "B": {3, 1}}, 3)
	if few.Shown || few.ConfirmationBP != 0 || few.Values != nil || few.Coverage != 2 {
		t.Errorf("score of two requesters %+v, want not shown", few)
	}
}
