package hepsi

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

func evalPoly(f modT, coef []uint64, x uint64) uint64 {
	acc := uint64(0)
	for k := len(coef) - 1; k >= 0; k-- {
		acc = f.add(f.mul(acc, x), coef[k])
	}
	return acc
}

// batchingPrime returns the prime t = 1 mod 2N (N = 2^presetLogN) nearest
// to 2^31: the largest below it if below, else the smallest above it.
func batchingPrime(below bool) uint64 {
	step := uint64(2) << presetLogN
	t := uint64(1)<<31 + 1
	if below {
		t -= step
	}
	for !new(big.Int).SetUint64(t).ProbablyPrime(20) {
		if below {
			t -= step
		} else {
			t += step
		}
	}
	return t
}

// The matching polynomial vanishes exactly on its roots and the label
// polynomials pass through every point, for sizes up to the largest bin,
// at the presets' plaintext modulus and at the largest one Validate
// accepts (just below 2^31), where only a few products fit between two
// reductions; values at t − 1 make every product as large as it gets.
func TestInterpolate(t *testing.T) {
	for _, tm := range []uint64{presetT, batchingPrime(true)} {
		f := newModT(tm)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, c := range []struct {
			n   int
			top bool // every label value t − 1, and t − 1 among the points
		}{{1, false}, {2, false}, {3, false}, {17, false}, {256, false}, {600, false}, {600, true}} {
			t.Run(fmt.Sprintf("t=%d/n=%d/top=%v", tm, c.n, c.top), func(t *testing.T) {
				seen := map[uint64]bool{}
				xs := make([]uint64, 0, c.n)
				if c.top {
					seen[tm-1] = true
					xs = append(xs, tm-1)
				}
				for len(xs) < c.n {
					x := rng.Uint64N(tm)
					if !seen[x] {
						seen[x] = true
						xs = append(xs, x)
					}
				}
				ys := [][]uint64{make([]uint64, c.n), make([]uint64, c.n)}
				for j := range ys {
					for i := range ys[j] {
						ys[j][i] = tm - 1
						if !c.top {
							ys[j][i] = rng.Uint64N(tm)
						}
					}
				}
				match := make([]uint64, c.n+1)
				f.rootsPoly(match, xs)
				outs := [][]uint64{make([]uint64, c.n), make([]uint64, c.n)}
				f.interpolate(outs, xs, ys, match, newInterpScratch(c.n, 2))
				for i, x := range xs {
					if v := evalPoly(f, match, x); v != 0 {
						t.Fatalf("match(x_%d) = %d", i, v)
					}
					for j := range ys {
						if v := evalPoly(f, outs[j], x); v != ys[j][i] {
							t.Fatalf("label %d at x_%d = %d, want %d", j, i, v, ys[j][i])
						}
					}
				}
				for range 100 {
					if x := rng.Uint64N(tm); !seen[x] && evalPoly(f, match, x) == 0 {
						t.Fatalf("match vanishes off its roots at %d", x)
					}
				}
			})
		}
	}
}

// Validate's bound on the plaintext modulus is the arithmetic's: the
// largest batching prime below 2^31 is accepted and gives the subproduct
// tree exactly the reference polynomials, and the smallest above is
// refused.
func TestPlainModulusBoundary(t *testing.T) {
	p := testParams(t, 16)
	p.PlainModulus = batchingPrime(true)
	if err := p.Validate(); err != nil {
		t.Fatalf("t = %d below 2^31 refused: %v", p.PlainModulus, err)
	}
	f := newModT(p.PlainModulus)
	tr := &interpTree{nt: newNTT(f), f: f}
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 700
	xs := distinctPoints(rng, f, n, true)
	ys := [][]uint64{make([]uint64, n), distinctPoints(rng, f, n, true)}
	for i := range ys[0] {
		ys[0][i] = f.t - 1
	}
	want, got := make([]uint64, n+1), make([]uint64, n+1)
	f.rootsPoly(want, xs)
	wantOuts := [][]uint64{make([]uint64, n), make([]uint64, n)}
	f.interpolate(wantOuts, xs, ys, want, newInterpScratch(n, 2))
	gotOuts := [][]uint64{make([]uint64, n), make([]uint64, n)}
	tr.interpolate(got, gotOuts, xs, ys)
	if !slices.Equal(got, want) || !slices.Equal(gotOuts[0], wantOuts[0]) || !slices.Equal(gotOuts[1], wantOuts[1]) {
		t.Fatal("the subproduct tree differs from the reference at the largest plaintext modulus")
	}
	for i := range xs {
		if evalPoly(f, wantOuts[1], xs[i]) != ys[1][i] {
			t.Fatalf("label polynomial misses point %d", i)
		}
	}

	p.PlainModulus = batchingPrime(false)
	if err := p.Validate(); !errors.Is(err, ErrParams) {
		t.Fatalf("t = %d above 2^31: %v, want ErrParams", p.PlainModulus, err)
	}
}
