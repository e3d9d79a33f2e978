package ristretto

import (
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	r255 "github.com/bwesterb/go-ristretto"
	gre "github.com/bwesterb/go-ristretto/edwards25519"
)

// github.com/bwesterb/go-ristretto's points are edwards25519 points too, in
// extended coordinates, and it has what filippo.io/edwards25519 lacks: the
// RFC 9496 encoding of a point that is not known as a double, fixed-base
// tables for a base other than the generator, and a variable-time scalar
// multiplication that starts at the scalar's top non-zero digit. Points
// move between the two libraries through their coordinates: eight field
// encodings, no square root, constant time.

// errOffCurve is FromGoRistretto's error for a point that is not on the
// curve, which go-ristretto never produces.
var errOffCurve = errors.New("ristretto: go-ristretto point is not on the curve")

// ToGoRistretto sets dst to the point p.
func ToGoRistretto(dst *r255.Point, p *edwards25519.Point) {
	e := (*gre.ExtendedPoint)(dst)
	x, y, z, t := p.ExtendedCoordinates()
	feToGoRistretto(&e.X, x)
	feToGoRistretto(&e.Y, y)
	feToGoRistretto(&e.Z, z)
	feToGoRistretto(&e.T, t)
}

// FromGoRistretto sets dst to the edwards25519 point behind p. Its error is
// unreachable for points go-ristretto computed.
func FromGoRistretto(dst *edwards25519.Point, p *r255.Point) error {
	e := (*gre.ExtendedPoint)(p)
	var x, y, z, t field.Element
	feFromGoRistretto(&x, &e.X)
	feFromGoRistretto(&y, &e.Y)
	feFromGoRistretto(&z, &e.Z)
	feFromGoRistretto(&t, &e.T)
	if _, err := dst.SetExtendedCoordinates(&x, &y, &z, &t); err != nil {
		return errOffCurve
	}
	return nil
}

func feToGoRistretto(dst *gre.FieldElement, fe *field.Element) {
	var b [32]byte
	copy(b[:], fe.Bytes())
	dst.SetBytes(&b)
}

func feFromGoRistretto(dst *field.Element, fe *gre.FieldElement) {
	var b [32]byte
	fe.BytesInto(&b)
	// 32 bytes always set a field element.
	_, _ = dst.SetBytes(b[:])
}

// ShortScalarBits is the widest scalar VarTimeScalarMult is worth calling
// for: it doubles once per bit below the scalar's top bit, where
// edwards25519's multi-scalar multiplication doubles 256 times whatever the
// scalar, but go-ristretto's doubling and addition cost more than
// edwards25519's, so for scalars much wider than 128 bits (RiskMesh's
// composite weights) the latter wins.
const ShortScalarBits = 128

// VarTimeScalarMult sets dst = s·p in variable time, with go-ristretto's
// width-5 NAF from the top non-zero digit of s: for a 128-bit s about half
// the doublings of edwards25519's VarTimeMultiScalarMult of one point.
// Only public values may go through it (composite weights, transcript
// elements).
func VarTimeScalarMult(dst *edwards25519.Point, s *edwards25519.Scalar, p *edwards25519.Point) {
	var q r255.Point
	ToGoRistretto(&q, p)
	var b [32]byte
	copy(b[:], s.Bytes())
	(*gre.ExtendedPoint)(&q).VarTimeScalarMult((*gre.ExtendedPoint)(&q), &b)
	// go-ristretto's arithmetic keeps points on the curve.
	_ = FromGoRistretto(dst, &q)
}
