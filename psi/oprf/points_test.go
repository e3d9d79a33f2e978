package oprf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/gtank/ristretto255"
)

// TestFieldConstants checks the derived constants against RFC 9496 section
// 4.1's decimal values.
func TestFieldConstants(t *testing.T) {
	tests := []struct {
		name    string
		got     *field.Element
		decimal string
	}{
		{"D", feD, "37095705934669439343138083508754565189542113879843219016388785533085940283555"},
		{"SQRT_M1", feSqrtM1, "19681161376707505956807079304988542015446066515923890162744021073123829784752"},
		{"INVSQRT_A_MINUS_D", feInvSqrtAMinusD, "54469307008909316920995813868745141605393597292927456921205312896311721017578"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := new(big.Int).SetString(tt.decimal, 10)
			if !ok {
				t.Fatal("bad decimal")
			}
			want := make([]byte, 32)
			v.FillBytes(want)
			slices.Reverse(want)
			if got := tt.got.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
}

// randomElement returns a uniformly random ristretto255 element.
func randomElement(t testing.TB, rng *mrand.ChaCha8) *ristretto255.Element {
	t.Helper()
	var u [64]byte
	_, _ = rng.Read(u[:])
	e, err := ristretto255.NewIdentityElement().SetUniformBytes(u[:])
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// randomScalar returns a uniformly random scalar, as both libraries' types.
func randomScalarPair(t testing.TB, rng *mrand.ChaCha8) (*ristretto255.Scalar, *edwards25519.Scalar) {
	t.Helper()
	var u [64]byte
	_, _ = rng.Read(u[:])
	r, err := ristretto255.NewScalar().SetUniformBytes(u[:])
	if err != nil {
		t.Fatal(err)
	}
	e, err := edwards25519.NewScalar().SetCanonicalBytes(r.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return r, e
}

// encodeViaHalf encodes p through doubleAndEncode: 2·(p/2) is p's element.
func encodeViaHalf(p *edwards25519.Point) []byte {
	var half edwards25519.Point
	half.ScalarMult(scalarHalf, p)
	enc := make([]byte, ElementSize)
	doubleAndEncode(enc, []edwards25519.Point{half})
	return enc
}

// TestDecodePointAgrees: decodePoint accepts and rejects exactly what
// ristretto255 (decodeElement) does, with the same error, and what it
// accepts re-encodes to the input.
func TestDecodePointAgrees(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{9})
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	le := func(v *big.Int) []byte {
		b := make([]byte, 32)
		v.FillBytes(b)
		slices.Reverse(b)
		return b
	}
	var inputs [][]byte
	for range 200 {
		// Valid encodings, and the same s negated (p - s is odd: negative).
		enc := randomElement(t, rng).Bytes()
		inputs = append(inputs, enc)
		be := slices.Clone(enc)
		slices.Reverse(be)
		s := new(big.Int).SetBytes(be)
		inputs = append(inputs, le(new(big.Int).Sub(p, s)))
		// s + p where it fits in 256 bits: the same value, not canonical.
		if sp := new(big.Int).Add(s, p); sp.BitLen() <= 256 {
			inputs = append(inputs, le(sp))
		}
		// Random strings: most are not squares or not canonical.
		r := make([]byte, 32)
		_, _ = rng.Read(r)
		inputs = append(inputs, r)
		r = slices.Clone(r)
		r[0] &^= 1 // even s: non-negative, so only squareness decides
		r[31] &= 0x7f
		inputs = append(inputs, r)
	}
	inputs = append(inputs, make([]byte, 32), nonCanonical, le(p), le(new(big.Int).Sub(p, big.NewInt(1))),
		le(big.NewInt(1)), le(big.NewInt(2)), generatorBytes, make([]byte, 31), make([]byte, 33))
	accepted := 0
	for i, in := range inputs {
		var q edwards25519.Point
		got := decodePoint(&q, in)
		var e ristretto255.Element
		want := decodeElement(&e, in)
		if (got == nil) != (want == nil) || got != nil && !errors.Is(got, want) {
			t.Fatalf("input %d (%x): decodePoint %v, decodeElement %v", i, in, got, want)
		}
		if got != nil {
			continue
		}
		accepted++
		if enc := encodeViaHalf(&q); !bytes.Equal(enc, in) {
			t.Fatalf("input %d: decoded %x re-encodes to %x", i, in, enc)
		}
	}
	if accepted < 200 || accepted == len(inputs) {
		t.Fatalf("accepted %d of %d inputs: the cases do not cover both outcomes", accepted, len(inputs))
	}
}

// order4 and order2 are torsion points: adding either to a representative
// gives another representative of the same ristretto255 element.
func torsionPoints(t testing.TB) (order4, order2 *edwards25519.Point) {
	t.Helper()
	var zero, one, minusOne field.Element
	one.One()
	minusOne.Negate(&one)
	order4, err := new(edwards25519.Point).SetExtendedCoordinates(feSqrtM1, &zero, &one, &zero)
	if err != nil {
		t.Fatal(err)
	}
	order2, err = new(edwards25519.Point).SetExtendedCoordinates(&zero, &minusOne, &one, &zero)
	if err != nil {
		t.Fatal(err)
	}
	return order4, order2
}

// TestDoubleAndEncode compares every slot of batches of 0 to 40 points with
// ristretto255's encoding of the doubled element: points with arbitrary
// projective coordinates (scalar multiples), other representatives of the
// same element (torsion added), and identities at random positions, which
// must encode as zeros without spoiling the rest of their chunk.
func TestDoubleAndEncode(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{4})
	order4, order2 := torsionPoints(t)
	for n := range 41 {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			points := make([]edwards25519.Point, n)
			want := make([]byte, n*ElementSize)
			for i := range points {
				a := randomElement(t, rng)
				if err := decodePoint(&points[i], a.Bytes()); err != nil {
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
			doubleAndEncode(got, points)
			for i := range n {
				if !bytes.Equal(element(got, i), element(want, i)) {
					t.Fatalf("point %d: got %x, want %x", i, element(got, i), element(want, i))
				}
			}
		})
	}
}

// TestBlindEvaluateBatchEqualsSingle: a batch's evaluated elements equal,
// item by item, the element evaluated alone and RFC 9497's (1/t)·D computed
// with ristretto255, and both proofs verify.
func TestBlindEvaluateBatchEqualsSingle(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSession(t, n)
			evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, s.blinded)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.client.VerifyProof(s.blinded, evaluated, proof[:]); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				d := element(s.blinded, i)
				one, oneProof, err := s.ev.BlindEvaluate(rand.Reader, d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(one, element(evaluated, i)) {
					t.Fatalf("item %d: batch %x, alone %x", i, element(evaluated, i), one)
				}
				if err := s.client.VerifyProof(d, one, oneProof[:]); err != nil {
					t.Fatalf("item %d alone: %v", i, err)
				}
				var e ristretto255.Element
				if err := decodeElement(&e, d); err != nil {
					t.Fatal(err)
				}
				if want := e.ScalarMult(&s.ev.mult, &e).Bytes(); !bytes.Equal(want, one) {
					t.Fatalf("item %d: got %x, want (1/t)·D = %x", i, one, want)
				}
			}
		})
	}
}

// FuzzDecodePoint: decodePoint agrees with ristretto255's decoding on any
// 32 bytes, and what it accepts re-encodes to the input.
func FuzzDecodePoint(f *testing.F) {
	s := newSession(f, 1)
	f.Add(s.blinded)
	f.Add(s.evaluated)
	f.Add(generatorBytes)
	f.Add(make([]byte, 32))
	f.Add(nonCanonical)
	f.Fuzz(func(t *testing.T, data []byte) {
		var q edwards25519.Point
		got := decodePoint(&q, data)
		var e ristretto255.Element
		want := decodeElement(&e, data)
		if (got == nil) != (want == nil) || got != nil && !errors.Is(got, want) {
			t.Fatalf("decodePoint %v, decodeElement %v", got, want)
		}
		if got == nil && !bytes.Equal(encodeViaHalf(&q), data) {
			t.Fatal("accepted encoding does not round-trip")
		}
	})
}
