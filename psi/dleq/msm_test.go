package dleq

import (
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"filippo.io/edwards25519"
)

// TestWeightedSumsAgree compares weightedSums, on one worker and split
// among two, three and eight, with edwards25519's own multi-scalar
// multiplication of the whole batch in one share: at sizes on both sides
// of pippengerMin and weightChunk, odd sizes, 1,000 and 4,097;
// with full-size, 128-bit and tiny scalars (so every window width and
// carry path is taken), zeros and repeated points among them, over two
// point vectors at once. weights must be asked for every index exactly
// once.
func TestWeightedSumsAgree(t *testing.T) {
	rng := mathrand.NewChaCha8([32]byte{3})
	sizes := []int{1, 5, weightChunk - 1, weightChunk, weightChunk + 1, pippengerMin - 1, pippengerMin, pippengerMin + 1,
		255, 256, 257, 301, 1000, 2048, 4097}
	for _, n := range sizes {
		for _, width := range []int{32, 16, 1} {
			if n > 1000 && width != 16 {
				continue // the large sizes only at the proofs' width, to keep the test short
			}
			scalars := make([]edwards25519.Scalar, n)
			points := [][]edwards25519.Point{make([]edwards25519.Point, n), make([]edwards25519.Point, n)}
			for i := range n {
				var b [64]byte
				_, _ = rng.Read(b[:width])
				if width == 32 {
					_, _ = scalars[i].SetUniformBytes(b[:])
				} else {
					_, _ = scalars[i].SetCanonicalBytes(b[:32])
				}
				if i%17 == 3 {
					scalars[i] = edwards25519.Scalar{}
				}
				for j := range points {
					_, _ = rng.Read(b[:])
					var s edwards25519.Scalar
					_, _ = s.SetUniformBytes(b[:])
					points[j][i].ScalarBaseMult(&s)
					if i%13 == 5 && i > 0 {
						points[j][i].Set(&points[j][i-1])
					}
				}
			}
			sp := make([]*edwards25519.Scalar, n)
			for i := range sp {
				sp[i] = &scalars[i]
			}
			want := make([]*edwards25519.Point, len(points))
			for j := range points {
				pp := make([]*edwards25519.Point, n)
				for i := range pp {
					pp[i] = &points[j][i]
				}
				want[j] = new(edwards25519.Point).VarTimeMultiScalarMult(sp, pp)
			}
			for _, workers := range []int{1, 2, 3, 8} {
				t.Run(fmt.Sprintf("%d/%dbytes/%dworkers", n, width, workers), func(t *testing.T) {
					asked := make([]atomic.Int32, n)
					weights := func(lo, hi int) []edwards25519.Scalar {
						for i := lo; i < hi; i++ {
							asked[i].Add(1)
						}
						// A copy, as the callers hand out: weightedSums
						// must not rely on one backing array.
						return slices.Clone(scalars[lo:hi])
					}
					got := []*edwards25519.Point{new(edwards25519.Point), new(edwards25519.Point)}
					weightedSums[edwards25519.Scalar, edwards25519.Point](workers, n, weights, got, points...)
					for i := range asked {
						if c := asked[i].Load(); c != 1 {
							t.Fatalf("weight %d asked for %d times", i, c)
						}
					}
					for j := range points {
						if got[j].Equal(want[j]) != 1 {
							t.Fatalf("sum %d differs from VarTimeMultiScalarMult", j)
						}
					}
				})
			}
		}
	}
}

// TestSignedDigits: the digits of every window width recombine to the
// scalar, and each lies in [-2^(c-1), 2^(c-1)).
func TestSignedDigits(t *testing.T) {
	rng := mathrand.NewChaCha8([32]byte{8})
	enc := make([][32]byte, 50)
	for i := range enc {
		var b [64]byte
		_, _ = rng.Read(b[:])
		var s edwards25519.Scalar
		_, _ = s.SetUniformBytes(b[:])
		copy(enc[i][:], s.Bytes())
	}
	enc[0] = [32]byte{}
	for i := range 16 {
		enc[1][i] = 0xff // 2^128 - 1: a carry through every window
	}
	for c := 2; c <= 16; c++ {
		windows := windowCount(253, c)
		digits := make([]int32, windows*len(enc))
		// In two calls, as the workers write them.
		signedDigits(digits, enc, 0, 20, c, windows)
		signedDigits(digits, enc, 20, len(enc), c, windows)
		for i := range enc {
			mine := make([]int32, windows)
			for w := range mine {
				mine[w] = digits[w*len(enc)+i]
			}
			got := recombine(mine, c)
			if got != enc[i] {
				t.Fatalf("c=%d scalar %d: digits recombine to %x, want %x", c, i, got, enc[i])
			}
			for _, d := range mine {
				if d < -(1<<(c-1)) || d >= 1<<(c-1) {
					t.Fatalf("c=%d scalar %d: digit %d out of range", c, i, d)
				}
			}
		}
	}
}

// recombine returns Σ_w digits[w]·2^(c·w) as a 32-byte little-endian
// integer (the test's scalars are non-negative and below 2^256).
func recombine(digits []int32, c int) [32]byte {
	var acc [34]int64 // one byte per limb, generous headroom
	for w, d := range digits {
		// d·2^(c·w): add d shifted into byte limbs.
		shift := c * w
		v := int64(d) << (shift % 8)
		acc[shift/8] += v
	}
	// Normalise the limbs to bytes with carries (arithmetic shifts keep
	// negative intermediate limbs correct).
	var out [32]byte
	var carry int64
	for i := range acc {
		v := acc[i] + carry
		if i < len(out) {
			out[i] = byte(v)
		}
		carry = v >> 8
	}
	return out
}
