package ristretto

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// TestVarTimeScalarMultAgrees compares VarTimeScalarMult with
// edwards25519's constant-time ScalarMult, point for point (Equal compares
// edwards25519 points, not ristretto255 elements, so a conversion that lost
// a torsion component would fail): scalars of every width from zero to a
// full one, on points with arbitrary projective coordinates and with
// torsion components, and the result written over its own input.
func TestVarTimeScalarMultAgrees(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{9})
	order4, order2 := torsionPoints(t)
	for _, width := range []int{0, 1, 2, 8, 15, 16, 17, 31, 32} {
		t.Run(fmt.Sprintf("%dbytes", width), func(t *testing.T) {
			for i := range 20 {
				var b [64]byte
				_, _ = rng.Read(b[:width])
				var s edwards25519.Scalar
				if width == 32 {
					_, _ = s.SetUniformBytes(b[:])
				} else {
					_, _ = s.SetCanonicalBytes(b[:32])
				}
				_, es := randomScalarPair(t, rng)
				var p edwards25519.Point
				p.ScalarBaseMult(es)
				switch i % 3 {
				case 1:
					p.Add(&p, order4)
				case 2:
					p.Add(&p, order2)
				}
				var want, got edwards25519.Point
				want.ScalarMult(&s, &p)
				VarTimeScalarMult(&got, &s, &p)
				if got.Equal(&want) != 1 {
					t.Fatalf("case %d: VarTimeScalarMult differs from ScalarMult", i)
				}
				VarTimeScalarMult(&p, &s, &p)
				if p.Equal(&want) != 1 {
					t.Fatalf("case %d: in place, VarTimeScalarMult differs from ScalarMult", i)
				}
			}
		})
	}
}
