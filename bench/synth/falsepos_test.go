package synth

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// TestFalsePositives: an institution's planted false positives are exactly
// the fraction asked of its entries, each on no other list; planting them
// changes no list; a batch carries exactly FalseHits of them, each the only
// listing of its identifier, and marks no other hit false.
func TestFalsePositives(t *testing.T) {
	const padded = 1 // Bank2MSP in testConfig
	cfg := testConfig()
	cfg.Institutions[padded].FalsePositives = 0.25
	c := generate(t, cfg)
	plain := generate(t, testConfig())
	for i := range c.Lists {
		if !reflect.DeepEqual(c.Lists[i].Entries, plain.Lists[i].Entries) {
			t.Fatalf("list %d differs with false positives planted", i)
		}
	}

	idx := indexOf(c)
	l := c.Lists[padded]
	if want := int(0.25 * float64(len(l.Entries))); len(l.falsePos) != want {
		t.Errorf("%d false positives, want %d", len(l.falsePos), want)
	}
	for id := range l.falsePos {
		if n := len(idx[id]); n != 1 {
			t.Fatalf("a false positive is on %d lists, want 1", n)
		}
	}
	for i, other := range c.Lists {
		if i != padded && len(other.falsePos) != 0 {
			t.Errorf("list %d has %d false positives, want none", i, len(other.falsePos))
		}
	}

	for seed := range uint64(20) {
		bc := BatchConfig{Seed: seed, Category: Black, Size: 500, Hits: 60, MultiHits: 10, FalseHits: 15, OtherCategory: 20, Invalid: 3, Duplicates: 3}
		b, err := c.Batch(bc)
		if err != nil {
			t.Fatal(err)
		}
		planted, hits := map[ident.ID]bool{}, map[ident.ID]bool{}
		for i, it := range b.Items {
			if len(it.Hits) > 0 {
				hits[it.ID] = true
			}
			for _, h := range it.Hits {
				if h.False != l.falsePos[it.ID] || (h.False && h.Provider != l.MSPID) {
					t.Fatalf("seed %d, item %d: hit of %s marked false %v", seed, i, h.Provider, h.False)
				}
				if h.False {
					planted[it.ID] = true
					if len(it.Hits) != 1 {
						t.Fatalf("seed %d, item %d: a false positive with %d hits", seed, i, len(it.Hits))
					}
				}
			}
		}
		if len(planted) != bc.FalseHits || len(hits) != bc.Hits {
			t.Errorf("seed %d: %d false hits of %d hits, want %d of %d", seed, len(planted), len(hits), bc.FalseHits, bc.Hits)
		}
	}
}

// TestFalsePositivesRefused: a fraction outside 0..1, more than the
// unshared entries, or more false hits than the batch's single hits are
// configuration errors.
func TestFalsePositivesRefused(t *testing.T) {
	for _, f := range []float64{-0.1, 1.5, math.NaN(), 0.9} { // 0.9: testConfig shares 20%
		cfg := testConfig()
		cfg.Institutions[0].FalsePositives = f
		if _, err := Generate(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("false positives %v: err %v, want ErrConfig", f, err)
		}
	}
	cfg := testConfig()
	cfg.Institutions[0].FalsePositives = 0.1
	c := generate(t, cfg)
	if _, err := c.Batch(BatchConfig{Category: Black, Size: 100, Hits: 10, MultiHits: 5, FalseHits: 6}); !errors.Is(err, ErrConfig) {
		t.Errorf("6 false hits of 5 single hits: err %v, want ErrConfig", err)
	}
	if _, err := generate(t, testConfig()).Batch(BatchConfig{Category: Black, Size: 100, Hits: 10, FalseHits: 1}); !errors.Is(err, ErrExhausted) {
		t.Errorf("a false hit from lists without false positives: err %v, want ErrExhausted", err)
	}
}
