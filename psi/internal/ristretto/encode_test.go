package ristretto

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// TestDoubleAndEncode compares every slot of batches of 0 to 140 points
// (so more than two inversion batches) with ristretto255's encoding of the
// doubled element: points with arbitrary projective coordinates (scalar
// multiples), other representatives of the same element (torsion added),
// and identities at random positions, which must encode as zeros without
// spoiling the rest of their batch.
func TestDoubleAndEncode(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{4})
	order4, order2 := torsionPoints(t)
	for _, n := range []int{0, 1, 2, 3, 17, 63, 64, 65, 140} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			points := make([]edwards25519.Point, n)
			want := make([]byte, n*ElementSize)
			for i := range points {
				a := randomElement(t, rng)
				if err := Decode(&points[i], a.Bytes()); err != nil {
					t.Fatal(err)
				}
				rs, es := randomScalarPair(t, rng)
				a.ScalarMult(rs, a)
				points[i].ScalarMult(es, &points[i])
				switch rng.Uint64() % 5 {
				case 0:
					points[i].Add(&points[i], order4)
				case 1:
					points[i].Add(&points[i], order2)
				case 2:
					points[i].Set(order4) // the identity element
					a = ristretto255.NewIdentityElement()
				}
				copy(element(want, i), a.Add(a, a).Bytes())
			}
			got := make([]byte, n*ElementSize)
			DoubleAndEncode(got, points)
			for i := range n {
				if !bytes.Equal(element(got, i), element(want, i)) {
					t.Fatalf("point %d: got %x, want %x", i, element(got, i), element(want, i))
				}
			}
		})
	}
}

// TestEncodeAndHalfScalar: Encode encodes each point as ristretto255 does,
// and multiplying by HalfScalar(s) then DoubleAndEncode gives the
// encoding of s·P.
func TestEncodeAndHalfScalar(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{5})
	const n = 10
	points := make([]edwards25519.Point, n)
	halves := make([]edwards25519.Point, n)
	want, wantMul := make([]byte, n*ElementSize), make([]byte, n*ElementSize)
	for i := range n {
		a := randomElement(t, rng)
		copy(element(want, i), a.Bytes())
		if err := Decode(&points[i], a.Bytes()); err != nil {
			t.Fatal(err)
		}
		rs, es := randomScalarPair(t, rng)
		copy(element(wantMul, i), a.ScalarMult(rs, a).Bytes())
		var half edwards25519.Scalar
		halves[i].ScalarMult(HalfScalar(&half, es), &points[i])
	}
	got := make([]byte, n*ElementSize)
	Encode(got, points)
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode: got %x, want %x", got, want)
	}
	DoubleAndEncode(got, halves)
	if !bytes.Equal(got, wantMul) {
		t.Fatalf("half-scalar multiples: got %x, want %x", got, wantMul)
	}
}
