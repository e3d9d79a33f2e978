package synth

import (
	"cmp"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// index maps each identifier to all its listings; tests build it
// independently of Batch's own lookup.
type index map[ident.ID][]Hit

func indexOf(c *Consortium) index {
	idx := make(index)
	for _, l := range c.Lists {
		for _, e := range l.Entries {
			idx[e.ID] = append(idx[e.ID], Hit{Provider: l.MSPID, Label: e.Label})
		}
	}
	return idx
}

func TestBatch(t *testing.T) {
	c := generate(t, testConfig())
	idx := indexOf(c)
	for _, cat := range Categories {
		t.Run(cat.String(), func(t *testing.T) {
			cfg := BatchConfig{Seed: 11, Category: cat, Size: 2000, Hits: 300, MultiHits: 40, OtherCategory: 100, Invalid: 25, Duplicates: 15}
			b, err := c.Batch(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if b.Category != cat || len(b.Items) != cfg.Size {
				t.Fatalf("batch of %v with %d items", b.Category, len(b.Items))
			}
			var hits, multi, other, invalid, misses, dups int
			seen := make(map[ident.ID]bool)
			for i, it := range b.Items {
				got, err := ident.Normalize(it.Type, it.Raw)
				if it.Invalid != nil {
					invalid++
					if !errors.Is(err, it.Invalid) || it.ID != (ident.ID{}) || it.Hits != nil {
						t.Fatalf("item %d: invalid item: Normalize error %v, want %v; ID %q, hits %v", i, err, it.Invalid, it.ID, it.Hits)
					}
					continue
				}
				if err != nil || got != it.ID || it.Type != it.ID.Type {
					t.Fatalf("item %d: raw %q normalises to %q, %v; want %q", i, it.Raw, got, err, it.ID)
				}
				dup := seen[it.ID]
				seen[it.ID] = true

				var want []Hit
				for _, h := range idx[it.ID] {
					if Category(h.Label.Category) == cat {
						want = append(want, h)
					}
				}
				slices.SortFunc(want, func(a, b Hit) int { return cmp.Compare(a.Provider, b.Provider) })
				if !reflect.DeepEqual(it.Hits, want) {
					t.Fatalf("item %d: hits %+v, want %+v", i, it.Hits, want)
				}
				switch {
				case dup:
					dups++
				case len(want) > 0:
					hits++
					if len(want) > 1 {
						multi++
					}
				case len(idx[it.ID]) > 0:
					other++
				default:
					misses++
				}
			}
			if hits != cfg.Hits || multi < cfg.MultiHits || other != cfg.OtherCategory || invalid != cfg.Invalid ||
				dups != cfg.Duplicates || misses != cfg.Size-cfg.Hits-cfg.OtherCategory-cfg.Invalid-cfg.Duplicates {
				t.Errorf("hits %d (%d on several lists), other-category %d, invalid %d, duplicates %d, misses %d; want %+v",
					hits, multi, other, invalid, dups, misses, cfg)
			}
		})
	}

	t.Run("deterministic", func(t *testing.T) {
		cfg := BatchConfig{Seed: 5, Category: Black, Size: 100, Hits: 10, MultiHits: 2, OtherCategory: 5, Invalid: 5}
		a, err := c.Batch(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Batch(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Error("same seed gave different batches")
		}
	})

	t.Run("zero config but category", func(t *testing.T) {
		b, err := c.Batch(BatchConfig{Category: Grey})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range b.Items {
			if len(it.Hits) > 0 || it.Invalid != nil {
				t.Fatal("default batch has hits or invalid items")
			}
		}
		if len(b.Items) != 1000 {
			t.Errorf("default size %d, want 1000", len(b.Items))
		}
	})
}

func TestBatchErrors(t *testing.T) {
	c := generate(t, testConfig())
	solo := generate(t, Config{Entries: 1000, Institutions: []Institution{{MSPID: "SoloMSP", Categories: map[Category]int{Black: 1}}}})
	for _, tc := range []struct {
		name string
		c    *Consortium
		cfg  BatchConfig
		want error
	}{
		{"no category", c, BatchConfig{Size: 10}, ErrConfig},
		{"unknown category", c, BatchConfig{Category: 4}, ErrConfig},
		{"size too big", c, BatchConfig{Category: Black, Size: MaxBatch + 1}, ErrConfig},
		{"negative size", c, BatchConfig{Category: Black, Size: -1}, ErrConfig},
		{"counts above size", c, BatchConfig{Category: Black, Size: 10, Hits: 8, Invalid: 3}, ErrConfig},
		{"negative count", c, BatchConfig{Category: Black, Size: 10, OtherCategory: -1}, ErrConfig},
		{"multi above hits", c, BatchConfig{Category: Black, Size: 10, Hits: 1, MultiHits: 2}, ErrConfig},
		{"duplicates of nothing", c, BatchConfig{Category: Black, Size: 10, Invalid: 5, Duplicates: 5}, ErrConfig},
		{"negative duplicates", c, BatchConfig{Category: Black, Size: 10, Duplicates: -1}, ErrConfig},
		{"more hits than entries", solo, BatchConfig{Category: Black, Size: 2000, Hits: 1001}, ErrExhausted},
		{"multi-hits with one list", solo, BatchConfig{Category: Black, Size: 10, Hits: 1, MultiHits: 1}, ErrExhausted},
		{"category nobody lists", solo, BatchConfig{Category: Yellow, Size: 10, Hits: 1}, ErrExhausted},
		{"no other category", solo, BatchConfig{Category: Black, Size: 10, OtherCategory: 1}, ErrExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.c.Batch(tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("Batch = %v, want %v", err, tc.want)
			}
		})
	}
}
