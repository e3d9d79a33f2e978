package oprf

import (
	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// verifyBatch decodes evaluated and checks the proof over (blinded,
// evaluated) under the Client's rule. blindedPts are the requester's own
// blinded points, or nil when only the encodings are at hand (an auditor),
// in which case they are decoded and checked too. Every element is decoded
// before any weight is computed: the binding rule's weights hash the whole
// batch. It returns the decoded evaluated elements as edwards25519 points
// (convert.go says why the requester works on them).
func (c *Client) verifyBatch(blinded []byte, blindedPts []edwards25519.Point, evaluated, proof []byte) ([]edwards25519.Point, error) {
	n, err := BatchLen(evaluated)
	if err != nil {
		return nil, err
	}
	if len(blinded) != len(evaluated) {
		return nil, ErrBatchMismatch
	}
	var pc, ps ristretto255.Scalar
	if c.p.mode != modeOPRF {
		if pc, ps, err = parseProof(proof); err != nil {
			return nil, err
		}
	}
	elems := make([]edwards25519.Point, n)
	if err := decodeBatch(elems, evaluated, decodePoint); err != nil {
		return nil, err
	}
	if blindedPts == nil {
		blindedPts = make([]edwards25519.Point, n)
		if err := decodeBatch(blindedPts, blinded, decodePoint); err != nil {
			return nil, err
		}
	}
	if c.p.mode == modeOPRF {
		return elems, nil
	}
	// POPRF: C = evaluated, D = blinded; VOPRF the other way round.
	bases, images, cs, ds := elems, blindedPts, evaluated, blinded
	if c.p.mode == modeVOPRF {
		bases, images, cs, ds = blindedPts, elems, blinded, evaluated
	}
	seed := c.p.batchSeed(c.rule, &c.seed, &c.bEnc, cs, ds)
	var mp, zp edwards25519.Point
	c.p.pointSums(c.rule, &seed, cs, ds, []*edwards25519.Point{&mp, &zp}, bases, images)
	if !c.p.verify(&c.b, &c.bEnc, c.table.Load(), &mp, &zp, &pc, &ps) {
		return nil, ErrProofVerification
	}
	return elems, nil
}

// VerifyProof checks a batched proof without any secret: the flat blinded
// and evaluated arrays as exchanged, under the Client's key, info and rule.
// Auditors use it; it sees only blinded values.
func (c *Client) VerifyProof(blinded, evaluated, proof []byte) error {
	_, err := c.verifyBatch(blinded, nil, evaluated, proof)
	return err
}

// VerifyProof checks a transcript's batched proof under ProofBinding128: the
// provider's public key, the info, and the flat blinded and evaluated
// arrays as exchanged. For a transcript made under another rule, use
// NewClientWithRule and Client.VerifyProof.
func VerifyProof(pub *PublicKey, info, blinded, evaluated, proof []byte) error {
	c, err := NewClient(pub, info)
	if err != nil {
		return err
	}
	return c.VerifyProof(blinded, evaluated, proof)
}
