package oprf

import (
	"bytes"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// The evaluator's batch path works on edwards25519 points, the
// representatives behind ristretto255 elements, because ristretto255's
// Element hides its coordinates and encoding a batch cheaply needs them.
// RFC 9496 section 4.3.2 encodes one element with an inverse square root,
// an exponentiation per element that nothing batches. Encoding the DOUBLE
// of a point needs an inversion instead, and inversions batch: a chunk
// costs one inversion and three multiplications per point (Montgomery's
// trick). So the evaluator multiplies each blinded element by k/2 instead
// of k and encodes the doubles: the same elements, byte for byte, for about
// a fifth of the encoding work (the Encoding benchmarks). Everything here
// is constant time: the points are functions of the secret key until they
// are encoded.

// Field constants of RFC 9496 section 4.1, derived with the field
// library's own operations (TestFieldConstants checks them against the
// RFC's decimal values).
var (
	feZero = new(field.Element)
	feOne  = new(field.Element).One()
	// feD is the curve constant d = -121665/121666.
	feD = func() *field.Element {
		num, den := fieldUint(121665), fieldUint(121666)
		num.Negate(num)
		return num.Multiply(num, den.Invert(den))
	}()
	// feSqrtM1 is the non-negative square root of -1.
	feSqrtM1 = func() *field.Element {
		r, _ := new(field.Element).SqrtRatio(new(field.Element).Negate(feOne), feOne)
		return r
	}()
	// feInvSqrtAMinusD is 1/sqrt(a - d), a = -1, non-negative.
	feInvSqrtAMinusD = func() *field.Element {
		aMinusD := new(field.Element).Negate(feOne)
		aMinusD.Subtract(aMinusD, feD)
		r, _ := new(field.Element).SqrtRatio(feOne, aMinusD)
		return r
	}()
)

// fieldUint returns the field element x.
func fieldUint(x uint32) *field.Element {
	return new(field.Element).Mult32(feOne, x)
}

// decodePoint is RFC 9497 DeserializeElement into an edwards25519 point:
// RFC 9496 section 4.3.1 Decode (canonical s, non-negative s, a square
// ratio, non-negative t, non-zero y), and the identity (32 zero bytes)
// rejected. It accepts exactly the encodings decodeElement accepts
// (TestDecodePointAgrees, FuzzDecodePoint). The encodings are public, so
// its branches are too.
func decodePoint(dst *edwards25519.Point, b []byte) error {
	if len(b) != ElementSize {
		return ErrInvalidElement
	}
	if isZero32(b) {
		return ErrIdentityElement
	}
	var s field.Element
	if _, err := s.SetBytes(b); err != nil || !bytes.Equal(s.Bytes(), b) || s.IsNegative() == 1 {
		return ErrInvalidElement
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
		return ErrInvalidElement
	}
	if _, err := dst.SetExtendedCoordinates(&x, &y, &z, &t); err != nil {
		return ErrInvalidElement
	}
	return nil
}

// doubleAndEncode writes the RFC 9496 encoding of 2·q[i] to the i-th
// 32-byte slot of dst, one field inversion per chunk of chunkSize points.
// Each q[i] must be a representative of a ristretto255 element (decoded,
// or computed from decoded points), as every point in this package is.
// Constant time: no branch or index depends on the points.
func doubleAndEncode(dst []byte, q []edwards25519.Point) {
	for lo := 0; lo < len(q); lo += chunkSize {
		hi := min(lo+chunkSize, len(q))
		doubleAndEncodeChunk(dst[lo*ElementSize:hi*ElementSize], q[lo:hi])
	}
}

// doubleAndEncodeChunk is doubleAndEncode for at most chunkSize points.
//
// For q = (X:Y:Z:T) and a = -1, the double is 2q = (e·h : g·f : f·h : e·g)
// with e = 2XY, f = Z² + dT², g = Y² + X², h = Z² - dT² (the doubling
// formulas written with T = XY/Z). Substituted into the encoding, the
// inverse square root of u1·u2² becomes 1/(e·f·g·h) up to known factors:
// 1/Z = e·g/(e·f·g·h) and 1/T = f·h/(e·f·g·h), and the encoding's
// rotation by sqrt(-1) swaps (e, g, h) for (g, -e, f·sqrt(-1)). f, g and h
// never vanish on the curve (d is not a square); e·f·g·h is zero exactly
// when 2q is the identity, which is replaced by 1 for the batch inversion
// and encoded as 32 zero bytes.
func doubleAndEncodeChunk(dst []byte, q []edwards25519.Point) {
	// prefix[i] = prod[0]·…·prod[i]: the chunk's inversions by Montgomery's
	// trick, undone from the last point back in the second loop.
	var e, f, g, h, eg, fh, prod, prefix [chunkSize]field.Element
	var ident [chunkSize]int
	for i := range q {
		X, Y, Z, T := q[i].ExtendedCoordinates()
		var xx, yy, zz, dtt field.Element
		xx.Square(X)
		yy.Square(Y)
		zz.Square(Z)
		dtt.Square(T).Multiply(&dtt, feD)
		e[i].Multiply(X, Y).Add(&e[i], &e[i])
		f[i].Add(&zz, &dtt)
		g[i].Add(&yy, &xx)
		h[i].Subtract(&zz, &dtt)
		eg[i].Multiply(&e[i], &g[i])
		fh[i].Multiply(&f[i], &h[i])
		prod[i].Multiply(&eg[i], &fh[i])
		ident[i] = prod[i].Equal(feZero)
		prod[i].Select(feOne, &prod[i], ident[i])
		prefix[i].Set(&prod[i])
		if i > 0 {
			prefix[i].Multiply(&prefix[i-1], &prod[i])
		}
	}
	var acc field.Element // 1/(prod[0]·…·prod[i]) at step i
	if len(q) > 0 {
		acc.Invert(&prefix[len(q)-1])
	}
	for i := len(q) - 1; i >= 0; i-- {
		// inv = 1/prod[i]
		var inv, zInv, tInv, ee, gg, hh, magic, tmp, s field.Element
		inv.Set(&acc)
		if i > 0 {
			inv.Multiply(&acc, &prefix[i-1])
			acc.Multiply(&acc, &prod[i])
		}
		zInv.Multiply(&eg[i], &inv)
		tInv.Multiply(&fh[i], &inv)
		rotate := tmp.Multiply(&eg[i], &zInv).IsNegative()
		ee.Select(&g[i], &e[i], rotate)
		gg.Select(tmp.Negate(&e[i]), &g[i], rotate)
		hh.Select(tmp.Multiply(&f[i], feSqrtM1), &h[i], rotate)
		magic.Select(feSqrtM1, feInvSqrtAMinusD, rotate)
		negY := tmp.Multiply(&hh, &ee).Multiply(&tmp, &zInv).IsNegative()
		gg.Select(tmp.Negate(&gg), &gg, negY)
		// s = |(h - g)·magic·g/T|
		tmp.Multiply(&gg, &tInv).Multiply(&tmp, &magic)
		s.Subtract(&hh, &gg).Multiply(&s, &tmp).Absolute(&s)
		s.Select(feZero, &s, ident[i])
		copy(element(dst, i), s.Bytes())
	}
}
