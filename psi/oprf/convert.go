package oprf

import (
	"filippo.io/edwards25519"
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
// go-ristretto's, and psi/internal/ristretto moves points between the two
// libraries (ToGoRistretto, FromGoRistretto).

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
