package ristretto

import (
	"bytes"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// ElementSize is the length of an encoded ristretto255 element.
const ElementSize = 32

var (
	// ErrInvalid reports bytes that are not the canonical encoding of an
	// element.
	ErrInvalid = errors.New("ristretto: invalid or non-canonical element encoding")
	// ErrIdentity reports the identity's encoding, which no caller of this
	// package accepts from a peer.
	ErrIdentity = errors.New("ristretto: identity element")
)

// Decode is RFC 9496 section 4.3.1 Decode into an edwards25519 point
// (canonical s, non-negative s, a square ratio, non-negative t, non-zero
// y), with the identity (32 zero bytes) rejected as RFC 9497's
// DeserializeElement does. It accepts exactly the encodings ristretto255's
// SetCanonicalBytes accepts, bar the identity (TestDecodeAgrees,
// FuzzDecode). The encodings are public, so its branches are too.
func Decode(dst *edwards25519.Point, b []byte) error {
	if len(b) != ElementSize {
		return ErrInvalid
	}
	if [ElementSize]byte(b) == [ElementSize]byte{} {
		return ErrIdentity
	}
	var s field.Element
	if _, err := s.SetBytes(b); err != nil || !bytes.Equal(s.Bytes(), b) || s.IsNegative() == 1 {
		return ErrInvalid
	}
	var ss, u1, u2, u2Sqr, v, tmp, invSqrt, denX, denY field.Element
	ss.Square(&s)
	u1.Subtract(feOne, &ss)
	u2.Add(feOne, &ss)
	u2Sqr.Square(&u2)
	// v = -(d·u1²) - u2²
	v.Square(&u1).Multiply(&v, feD).Negate(&v).Subtract(&v, &u2Sqr)
	_, wasSquare := invSqrt.SqrtRatio(feOne, tmp.Multiply(&v, &u2Sqr))
	denX.Multiply(&invSqrt, &u2)
	denY.Multiply(&invSqrt, &denX).Multiply(&denY, &v)
	var x, y, z, t field.Element
	x.Multiply(&s, &denX).Add(&x, &x).Absolute(&x)
	y.Multiply(&u1, &denY)
	z.One()
	t.Multiply(&x, &y)
	if wasSquare == 0 || t.IsNegative() == 1 || y.Equal(feZero) == 1 {
		return ErrInvalid
	}
	if _, err := dst.SetExtendedCoordinates(&x, &y, &z, &t); err != nil {
		return ErrInvalid
	}
	return nil
}
