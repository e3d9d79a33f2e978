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

// ShortScalarBits is the widest scalar VarTimeMultiScalarMult is meant for:
// it doubles once per bit below the scalars' top bit, where edwards25519's
// multi-scalar multiplication doubles 256 times whatever the scalars, so
// with RiskMesh's 128-bit composite weights it saves about half the
// doublings; with full-width scalars it saves nothing and pays for moving
// the points to go-ristretto and back.
const ShortScalarBits = 128

// VarTimeMultiScalarMult sets dst = Σ s[i]·p[i] in variable time by
// Straus's method on go-ristretto's point arithmetic: a table of the odd
// multiples P, 3P, …, 15P per point, width-5 non-adjacent forms of the
// scalars, and one doubling per digit from the highest non-zero digit of
// any scalar down (edwards25519's VarTimeMultiScalarMult starts at digit
// 255). Each point moves to go-ristretto and the sum back (about 0.4 µs a
// point), so it pays for short scalars and small batches, which is where
// psi/dleq calls it. Only public values may go through it (composite
// weights, transcript elements). len(s) must equal len(p).
func VarTimeMultiScalarMult(dst *edwards25519.Point, s []edwards25519.Scalar, p []edwards25519.Point) {
	n := len(p)
	tables := make([][8]gre.ExtendedPoint, n)
	nafs := make([][256]int8, n)
	top := -1
	for i := range n {
		var q r255.Point
		ToGoRistretto(&q, &p[i])
		oddMultiples(&tables[i], (*gre.ExtendedPoint)(&q))
		var enc [32]byte
		copy(enc[:], s[i].Bytes())
		top = max(top, nonAdjacentForm(&nafs[i], &enc))
	}
	var (
		acc  gre.ProjectivePoint
		sum  gre.CompletedPoint
		ext  gre.ExtendedPoint
		zero gre.ExtendedPoint
	)
	zero.SetZero()
	sum.AddExtended(&zero, &zero)
	for k := top; k >= 0; k-- {
		acc.SetCompleted(&sum)
		sum.DoubleProjective(&acc)
		for i := range n {
			switch d := nafs[i][k]; {
			case d > 0:
				ext.SetCompleted(&sum)
				sum.AddExtended(&ext, &tables[i][d/2])
			case d < 0:
				ext.SetCompleted(&sum)
				sum.SubExtended(&ext, &tables[i][-d/2])
			}
		}
	}
	var out r255.Point
	(*gre.ExtendedPoint)(&out).SetCompleted(&sum)
	// go-ristretto's arithmetic keeps points on the curve.
	_ = FromGoRistretto(dst, &out)
}

// oddMultiples sets t[j] = (2j+1)·q.
func oddMultiples(t *[8]gre.ExtendedPoint, q *gre.ExtendedPoint) {
	var twice gre.ExtendedPoint
	twice.Double(q)
	t[0].Set(q)
	for j := 1; j < len(t); j++ {
		t[j].Add(&t[j-1], &twice)
	}
}

// nonAdjacentForm writes the width-5 non-adjacent form of the
// little-endian scalar s (below 2^255) to naf: digits that are zero or
// odd in [-15, 15], at least four zeros after each non-zero digit, with
// s = Σ naf[k]·2^k. It returns the index of the highest non-zero digit, or
// -1 for zero.
func nonAdjacentForm(naf *[256]int8, s *[32]byte) int {
	// bit returns bit k of s (zero past the end).
	bit := func(k int) int {
		if k >= 256 {
			return 0
		}
		return int(s[k/8]>>(k%8)) & 1
	}
	top := -1
	carry := 0
	for k := 0; k < 256; {
		if bit(k)+carry != 1 {
			// An even digit: 0, or 2 carried on as 1 into bit k+1.
			carry = (bit(k) + carry) >> 1
			k++
			continue
		}
		// An odd window: the five bits from k, plus the carry.
		w := carry
		for j := range 5 {
			w += bit(k+j) << j
		}
		if w >= 16 {
			w -= 32
			carry = 1
		} else {
			carry = 0
		}
		naf[k] = int8(w)
		top = k
		k += 5
	}
	return top
}
