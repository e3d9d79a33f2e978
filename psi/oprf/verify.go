package oprf

import (
	"github.com/gtank/ristretto255"
)

// verifyBatch decodes evaluated and checks the proof over (blinded,
// evaluated) under the Client's rule. blindedElems are the requester's own
// decoded elements, or nil when only the encodings are at hand (an
// auditor), in which case they are decoded and checked too. Every element
// is decoded before any weight is computed: the binding rule's weights hash
// the whole batch. It returns the decoded evaluated elements.
func (c *Client) verifyBatch(blinded []byte, blindedElems []ristretto255.Element, evaluated, proof []byte) ([]ristretto255.Element, error) {
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
	elems := make([]ristretto255.Element, n)
	if err := decodeBatch(elems, evaluated, decodeElement); err != nil {
		return nil, err
	}
	if blindedElems == nil {
		blindedElems = make([]ristretto255.Element, n)
		if err := decodeBatch(blindedElems, blinded, decodeElement); err != nil {
			return nil, err
		}
	}
	if c.p.mode == modeOPRF {
		return elems, nil
	}
	// POPRF: C = evaluated, D = blinded; VOPRF the other way round.
	bases, images, cs, ds := elems, blindedElems, evaluated, blinded
	if c.p.mode == modeVOPRF {
		bases, images, cs, ds = blindedElems, elems, blinded, evaluated
	}
	seed := c.p.batchSeed(c.rule, &c.seed, &c.bEnc, cs, ds)
	var m, z ristretto255.Element
	c.p.weightedSums(&seed, cs, ds, []*ristretto255.Element{&m, &z}, bases, images)
	if !c.p.verify(&c.b, &c.bEnc, &m, &z, &pc, &ps) {
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

// VerifyProof checks a transcript's batched proof under ProofBinding: the
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
