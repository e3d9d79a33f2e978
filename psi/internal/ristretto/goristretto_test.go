package ristretto

import (
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// randomScalarOfWidth returns a scalar of at most `width` random bytes (a
// full reduced scalar for 32).
func randomScalarOfWidth(rng *mrand.ChaCha8, width int) edwards25519.Scalar {
	var b [64]byte
	_, _ = rng.Read(b[:width])
	var s edwards25519.Scalar
	if width == 32 {
		_, _ = s.SetUniformBytes(b[:])
	} else {
		_, _ = s.SetCanonicalBytes(b[:32])
	}
	return s
}

// TestVarTimeMultiScalarMultAgrees compares VarTimeMultiScalarMult with
// edwards25519's VarTimeMultiScalarMult point for point (Equal compares
// edwards25519 points, not ristretto255 elements, so a move between the
// libraries that lost a torsion component would fail): batches of 1 to 17
// points, scalars of every width from zero to a full one (mixed in one
// batch too), points with arbitrary projective coordinates and with torsion
// components.
func TestVarTimeMultiScalarMultAgrees(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{9})
	order4, order2 := torsionPoints(t)
	for _, n := range []int{1, 2, 3, 16, 17} {
		for _, width := range []int{0, 1, 2, 8, 15, 16, 17, 31, 32, -1} {
			t.Run(fmt.Sprintf("%d/%dbytes", n, width), func(t *testing.T) {
				for c := range 5 {
					s := make([]edwards25519.Scalar, n)
					p := make([]edwards25519.Point, n)
					sp := make([]*edwards25519.Scalar, n)
					pp := make([]*edwards25519.Point, n)
					for i := range n {
						w := width
						if w < 0 { // mixed widths
							w = []int{0, 1, 16, 32}[rng.Uint64()%4]
						}
						s[i] = randomScalarOfWidth(rng, w)
						_, es := randomScalarPair(t, rng)
						p[i].ScalarBaseMult(es)
						switch (c + i) % 3 {
						case 1:
							p[i].Add(&p[i], order4)
						case 2:
							p[i].Add(&p[i], order2)
						}
						sp[i], pp[i] = &s[i], &p[i]
					}
					var want, got edwards25519.Point
					want.VarTimeMultiScalarMult(sp, pp)
					VarTimeMultiScalarMult(&got, s, p)
					if got.Equal(&want) != 1 {
						t.Fatalf("case %d: differs from edwards25519's VarTimeMultiScalarMult", c)
					}
				}
			})
		}
	}
}

// TestNonAdjacentForm checks the digits of zero, one, ℓ−1, 2^252, runs of
// ones and random scalars of every width: each digit zero or odd in
// [-15, 15], at least four zeros after each non-zero digit, the reported
// top digit the highest non-zero one, and Σ naf[k]·2^k equal to the scalar.
func TestNonAdjacentForm(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{10})
	var cases [][32]byte
	one := [32]byte{1}
	lMinus1, _ := new(edwards25519.Scalar).SetCanonicalBytes(one[:])
	lMinus1.Negate(lMinus1)
	var top, ones [32]byte
	top[31] = 0x10
	for i := range 31 {
		ones[i] = 0xff
	}
	cases = append(cases, [32]byte{}, one, [32]byte(lMinus1.Bytes()), top, ones)
	for _, width := range []int{1, 2, 16, 32} {
		for range 50 {
			s := randomScalarOfWidth(rng, width)
			cases = append(cases, [32]byte(s.Bytes()))
		}
	}
	for i, s := range cases {
		var naf [256]int8
		gotTop := nonAdjacentForm(&naf, &s)
		sum, wantTop, lastNonZero := new(big.Int), -1, -5
		for k := 255; k >= 0; k-- {
			d := naf[k]
			if d == 0 {
				continue
			}
			if d%2 == 0 || d > 15 || d < -15 {
				t.Fatalf("case %d: digit %d at %d", i, d, k)
			}
			if wantTop < 0 {
				wantTop = k
			}
		}
		for k := range 256 {
			if d := naf[k]; d != 0 {
				if k-lastNonZero < 5 {
					t.Fatalf("case %d: non-zero digits at %d and %d", i, lastNonZero, k)
				}
				lastNonZero = k
				sum.Add(sum, new(big.Int).Lsh(big.NewInt(int64(d)), uint(k)))
			}
		}
		le := make([]byte, 32)
		for k := range le {
			le[k] = s[31-k]
		}
		if want := new(big.Int).SetBytes(le); sum.Cmp(want) != 0 {
			t.Fatalf("case %d: digits sum to %v, want %v", i, sum, want)
		}
		if gotTop != wantTop {
			t.Fatalf("case %d: top digit %d, want %d", i, gotTop, wantTop)
		}
	}
}
