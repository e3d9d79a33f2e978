package oprf

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	r255 "github.com/bwesterb/go-ristretto"
	gre "github.com/bwesterb/go-ristretto/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// The requester works on edwards25519 points, as the evaluator does
// (psi/internal/ristretto), so that the points it blinds stay at hand for the proof
// instead of being decoded again from the bytes it sent (an inverse square
// root each). Two things it needs are not in filippo.io/edwards25519: a
// constant-time fixed-base table for a base other than the generator
// (additive blinding's r·B) and the RFC 9496 encoding of a point that is not
// known as a double (the blinded elements, the unblinded outputs). Both are
// go-ristretto's, whose points are edwards25519 points too, so the requester
// moves points between the two libraries through their coordinates: eight
// field encodings, no square root, constant time (fromR255 here, the way
// back in psi/internal/ristretto's Encode).

// fromR255 sets dst to the edwards25519 point behind p.
func fromR255(dst *edwards25519.Point, p *r255.Point) error {
	e := (*gre.ExtendedPoint)(p)
	var x, y, z, t field.Element
	feFromR255(&x, &e.X)
	feFromR255(&y, &e.Y)
	feFromR255(&z, &e.Z)
	feFromR255(&t, &e.T)
	if _, err := dst.SetExtendedCoordinates(&x, &y, &z, &t); err != nil {
		// go-ristretto's points are on the curve: unreachable.
		return ErrInvalidElement
	}
	return nil
}

func feFromR255(dst *field.Element, fe *gre.FieldElement) {
	var b [32]byte
	fe.BytesInto(&b)
	// 32 bytes always set a field element.
	_, _ = dst.SetBytes(b[:])
}

// encodePoint writes the RFC 9496 encoding of p, a representative of a
// ristretto255 element, to dst (32 bytes).
func encodePoint(dst []byte, p *edwards25519.Point) {
	ristretto.Encode(dst, []edwards25519.Point{*p})
}

// toEdwardsScalar sets dst to s. A reduced scalar's encoding is canonical,
// so the conversion cannot fail.
func toEdwardsScalar(dst *edwards25519.Scalar, s *ristretto255.Scalar) {
	_, _ = dst.SetCanonicalBytes(s.Bytes())
}
