package hepsi

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/internal/cputime"
)

// distinctPoints draws n distinct field elements; edge adds 0, 1 and t−1.
func distinctPoints(rng *rand.Rand, f modT, n int, edge bool) []uint64 {
	seen := map[uint64]bool{}
	xs := make([]uint64, 0, n)
	if edge {
		for _, x := range []uint64{0, 1, f.t - 1} {
			if len(xs) < n {
				seen[x] = true
				xs = append(xs, x)
			}
		}
	}
	for len(xs) < n {
		if x := rng.Uint64N(f.t); !seen[x] {
			seen[x] = true
			xs = append(xs, x)
		}
	}
	rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

// The subproduct tree gives exactly the reference polynomials: the
// matching polynomial and every label polynomial, coefficient by
// coefficient, on random points, a full 2,048-point bin, points including 0
// and t−1, sizes around the tree's leaf and transform boundaries, and
// constant or zero values. With repeated points (which the database allows
// in the matching polynomial of an unlabeled bin) the matching polynomial
// still agrees.
func TestFastInterpolation(t *testing.T) {
	f := newModT(presetT)
	nt := newNTT(f)
	tr := &interpTree{nt: nt, f: f}
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name   string
		n      int
		edge   bool
		values func(i int) uint64
	}{
		{"smallest", fastFrom, false, nil},
		{"odd", fastFrom + 1, true, nil},
		{"leaf boundary", 8*treeLeaf + 1, false, nil},
		{"power of two", 512, true, nil},
		{"one past", 513, false, nil},
		{"uneven", 1500, true, nil},
		{"full bin", 2048, false, nil},
		{"zero labels", 300, false, func(int) uint64 { return 0 }},
		{"constant labels", 300, true, func(int) uint64 { return f.t - 1 }},
		{"largest", 1 << (nt.logMax - 1), false, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.name, c.n), func(t *testing.T) {
			if !nt.fits(c.n) {
				t.Fatalf("%d points do not fit the transform", c.n)
			}
			xs := distinctPoints(rng, f, c.n, c.edge)
			ys := [][]uint64{make([]uint64, c.n), make([]uint64, c.n)}
			for j := range ys {
				for i := range ys[j] {
					if c.values != nil {
						ys[j][i] = c.values(i)
					} else {
						ys[j][i] = rng.Uint64N(f.t)
					}
				}
			}
			want, got := make([]uint64, c.n+1), make([]uint64, c.n+1)
			f.rootsPoly(want, xs)
			wantOuts := [][]uint64{make([]uint64, c.n), make([]uint64, c.n)}
			f.interpolate(wantOuts, xs, ys, want, newInterpScratch(c.n, 2))
			gotOuts := [][]uint64{make([]uint64, c.n), make([]uint64, c.n)}
			tr.interpolate(got, gotOuts, xs, ys)
			if !slices.Equal(got, want) {
				t.Fatal("matching polynomial differs from the reference")
			}
			for j := range ys {
				if !slices.Equal(gotOuts[j], wantOuts[j]) {
					t.Fatalf("label polynomial %d differs from the reference", j)
				}
			}
			if i := rng.IntN(c.n); evalPoly(f, gotOuts[1], xs[i]) != ys[1][i] {
				t.Fatalf("label polynomial misses point %d", i)
			}
		})
	}
	t.Run("repeated points/matching only", func(t *testing.T) {
		n := 700
		xs := distinctPoints(rng, f, n/2, false)
		xs = append(xs, xs...)
		rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		want, got := make([]uint64, n+1), make([]uint64, n+1)
		f.rootsPoly(want, xs)
		tr.interpolate(got, nil, xs, nil)
		if !slices.Equal(got, want) {
			t.Fatal("matching polynomial differs from the reference")
		}
	})
}

// BenchmarkInterpolate compares the reference and the subproduct tree on
// one bin limb with two label parts, at each capacity tier's full size.
func BenchmarkInterpolate(b *testing.B) {
	f := newModT(presetT)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{64, 128, 160, 200, 256, 512, 2048} {
		xs := distinctPoints(rng, f, n, false)
		ys := [][]uint64{distinctPoints(rng, f, n, false), distinctPoints(rng, f, n, false)}
		match := make([]uint64, n+1)
		outs := [][]uint64{make([]uint64, n), make([]uint64, n)}
		b.Run(fmt.Sprintf("Reference/%d", n), func(b *testing.B) {
			sc := newInterpScratch(n, 2)
			cpu := cputime.Self()
			for b.Loop() {
				f.rootsPoly(match, xs)
				f.interpolate(outs, xs, ys, match, sc)
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
		b.Run(fmt.Sprintf("Tree/%d", n), func(b *testing.B) {
			tr := &interpTree{nt: newNTT(f), f: f}
			cpu := cputime.Self()
			for b.Loop() {
				tr.interpolate(match, outs, xs, ys)
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}
