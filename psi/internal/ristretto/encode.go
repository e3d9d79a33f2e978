package ristretto

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	r255 "github.com/bwesterb/go-ristretto"
)

// batchSize is how many points share one field inversion in
// DoubleAndEncode: the inversion (about 265 multiplications) then costs a
// few multiplications a point, and the scratch arrays stay on the stack.
const batchSize = 64

// DoubleAndEncode writes the RFC 9496 encoding of 2·q[i] to the i-th
// 32-byte slot of dst, one field inversion per batchSize points. Each q[i]
// must be a representative of a ristretto255 element (decoded, hashed, or
// computed from such points). Constant time: no branch or index depends
// on the points.
func DoubleAndEncode(dst []byte, q []edwards25519.Point) {
	for lo := 0; lo < len(q); lo += batchSize {
		hi := min(lo+batchSize, len(q))
		doubleAndEncodeBatch(dst[lo*ElementSize:hi*ElementSize], q[lo:hi])
	}
}

// Encode writes the RFC 9496 encoding of q[i] to the i-th 32-byte slot of
// dst, for points not known as doubles (a proof's four, a requester's
// blinded elements and outputs). filippo.io/edwards25519 has no ristretto255
// encoding, so each point moves to go-ristretto (ToGoRistretto) and is
// encoded there with one inverse square root. Constant time.
func Encode(dst []byte, q []edwards25519.Point) {
	var rp r255.Point
	var enc [ElementSize]byte
	for i := range q {
		ToGoRistretto(&rp, &q[i])
		rp.BytesInto(&enc)
		copy(dst[i*ElementSize:], enc[:])
	}
}

// HalfScalar sets dst to s/2 modulo the group order: a caller multiplies by
// it and encodes with DoubleAndEncode to get the encodings of s·P.
func HalfScalar(dst, s *edwards25519.Scalar) *edwards25519.Scalar {
	return dst.Multiply(s, scalarHalf)
}

// scalarHalf is 1/2 modulo the group order.
var scalarHalf = func() *edwards25519.Scalar {
	two := [32]byte{2}
	s, _ := edwards25519.NewScalar().SetCanonicalBytes(two[:])
	return s.Invert(s)
}()

// doubleAndEncodeBatch is DoubleAndEncode for at most batchSize points.
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
func doubleAndEncodeBatch(dst []byte, q []edwards25519.Point) {
	// prefix[i] = prod[0]·…·prod[i]: the batch's inversions by Montgomery's
	// trick, undone from the last point back in the second loop.
	var e, f, g, h, eg, fh, prod, prefix [batchSize]field.Element
	var ident [batchSize]int
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
		copy(dst[i*ElementSize:(i+1)*ElementSize], s.Bytes())
	}
}
