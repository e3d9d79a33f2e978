package hepsi

import (
	"math/rand/v2"
	"testing"
)

func evalPoly(f modT, coef []uint64, x uint64) uint64 {
	acc := uint64(0)
	for k := len(coef) - 1; k >= 0; k-- {
		acc = f.add(f.mul(acc, x), coef[k])
	}
	return acc
}

// The matching polynomial vanishes exactly on its roots and the label
// polynomials pass through every point, for sizes up to the largest bin.
func TestInterpolate(t *testing.T) {
	f := newModT(presetT)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 17, 256, 600} {
		seen := map[uint64]bool{}
		xs := make([]uint64, 0, n)
		for len(xs) < n {
			x := rng.Uint64N(presetT)
			if !seen[x] {
				seen[x] = true
				xs = append(xs, x)
			}
		}
		ys := [][]uint64{make([]uint64, n), make([]uint64, n)}
		for j := range ys {
			for i := range ys[j] {
				ys[j][i] = rng.Uint64N(presetT)
			}
		}
		match := make([]uint64, n+1)
		f.rootsPoly(match, xs)
		outs := [][]uint64{make([]uint64, n), make([]uint64, n)}
		f.interpolate(outs, xs, ys, match, newInterpScratch(n, 2))
		for i, x := range xs {
			if v := evalPoly(f, match, x); v != 0 {
				t.Fatalf("n=%d: match(x_%d) = %d", n, i, v)
			}
			for j := range ys {
				if v := evalPoly(f, outs[j], x); v != ys[j][i] {
					t.Fatalf("n=%d: label %d at x_%d = %d, want %d", n, j, i, v, ys[j][i])
				}
			}
		}
		for range 100 {
			if x := rng.Uint64N(presetT); !seen[x] && evalPoly(f, match, x) == 0 {
				t.Fatalf("n=%d: match vanishes off its roots at %d", n, x)
			}
		}
	}
}
