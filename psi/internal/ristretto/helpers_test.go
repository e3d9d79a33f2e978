package ristretto

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/gtank/ristretto255"
)

// nonCanonical is 2^255 - 1 (≥ p), never a valid element.
var nonCanonical = bytes.Repeat([]byte{0xff}, 32)

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

// randomScalarPair returns a uniformly random scalar, as both libraries' types.
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

// element returns the i-th 32-byte slot of a flat array.
func element(flat []byte, i int) []byte {
	return flat[i*ElementSize : (i+1)*ElementSize]
}

// decodeReference decodes with ristretto255, rejecting the identity as
// Decode does: the oracle Decode must agree with.
func decodeReference(b []byte) error {
	if len(b) != ElementSize {
		return ErrInvalid
	}
	if bytes.Equal(b, make([]byte, ElementSize)) {
		return ErrIdentity
	}
	if _, err := new(ristretto255.Element).SetCanonicalBytes(b); err != nil {
		return ErrInvalid
	}
	return nil
}

// encodeOne encodes p with Encode.
func encodeOne(p *edwards25519.Point) []byte {
	enc := make([]byte, ElementSize)
	Encode(enc, []edwards25519.Point{*p})
	return enc
}

// torsionPoints returns points of order 4 and 2: adding either to a
// representative gives another representative of the same ristretto255
// element.
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
