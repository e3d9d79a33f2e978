package ristretto

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// UniformSize is the input length of FromUniformBytes.
const UniformSize = 64

// FromUniformBytes sets dst to the element RFC 9496 section 4.3.4 derives
// from 64 uniform bytes (the one-way map applied to each half, the two
// points added), as ristretto255's SetUniformBytes does
// (TestFromUniformBytesAgrees), but as an edwards25519 point that
// DoubleAndEncode can take. Constant time.
func FromUniformBytes(dst *edwards25519.Point, u *[UniformSize]byte) error {
	var p1, p2 edwards25519.Point
	if err := mapToPoint(&p1, u[:32]); err != nil {
		return err
	}
	if err := mapToPoint(&p2, u[32:]); err != nil {
		return err
	}
	dst.Add(&p1, &p2)
	return nil
}

// mapToPoint is RFC 9496's MAP of the field element b encodes (the top bit
// ignored, values of p and above reduced, as the RFC specifies). Its error
// comes from the curve check of SetExtendedCoordinates, which MAP's output
// always passes.
func mapToPoint(dst *edwards25519.Point, b []byte) error {
	var t field.Element
	if _, err := t.SetBytes(b); err != nil {
		return ErrInvalid
	}
	var r, u, v, tmp, s, sPrime, c, n field.Element
	// r = SQRT_M1·t², u = (r + 1)·ONE_MINUS_D_SQ, v = (-1 - r·D)·(r + D)
	r.Square(&t).Multiply(&r, feSqrtM1)
	u.Add(&r, feOne).Multiply(&u, feOneMinusDSq)
	v.Multiply(&r, feD).Add(&v, feOne).Negate(&v)
	v.Multiply(&v, tmp.Add(&r, feD))
	_, wasSquare := s.SqrtRatio(&u, &v)
	sPrime.Multiply(&s, &t).Absolute(&sPrime).Negate(&sPrime)
	s.Select(&s, &sPrime, wasSquare)
	c.Select(tmp.Negate(feOne), &r, wasSquare)
	// N = c·(r - 1)·D_MINUS_ONE_SQ - v
	n.Subtract(&r, feOne).Multiply(&n, &c).Multiply(&n, feDMinusOneSq).Subtract(&n, &v)
	var w0, w1, w2, w3, ss field.Element
	ss.Square(&s)
	w0.Multiply(&s, &v).Add(&w0, &w0)
	w1.Multiply(&n, feSqrtADMinusOne)
	w2.Subtract(feOne, &ss)
	w3.Add(feOne, &ss)
	var x, y, z, tt field.Element
	x.Multiply(&w0, &w3)
	y.Multiply(&w2, &w1)
	z.Multiply(&w1, &w3)
	tt.Multiply(&w0, &w2)
	if _, err := dst.SetExtendedCoordinates(&x, &y, &z, &tt); err != nil {
		return ErrInvalid
	}
	return nil
}
