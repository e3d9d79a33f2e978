package oprf

import (
	"github.com/gtank/ristretto255"
)

// verifyBatch decodes evaluated and checks the proof over (blinded,
// evaluated). blindedElems are the requester's own decoded elements, or nil
// when only the encodings are at hand (an auditor), in which case they are
// decoded and checked too. It returns the decoded evaluated elements.
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
	decodeBlinded := blindedElems == nil
	if decodeBlinded {
		blindedElems = make([]ristretto255.Element, n)
	}
	elems := make([]ristretto255.Element, n)
	d := make([]ristretto255.Scalar, n)
	workers := workersFor(n)
	bufs := make([][]byte, workers)
	err = parallel(n, workers, func(w, lo, hi int) error {
		buf := bufs[w]
		for i := lo; i < hi; i++ {
			ei, bi := element(evaluated, i), element(blinded, i)
			if err := decodeElement(&elems[i], ei); err != nil {
				return &ElementError{Index: i, Err: err}
			}
			if decodeBlinded {
				if err := decodeElement(&blindedElems[i], bi); err != nil {
					return &ElementError{Index: i, Err: err}
				}
			}
			if c.p.mode == modePOPRF {
				buf = c.p.compositeScalar(&d[i], buf, &c.seed, i, ei, bi)
			} else {
				buf = c.p.compositeScalar(&d[i], buf, &c.seed, i, bi, ei)
			}
		}
		bufs[w] = buf
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.p.mode == modeOPRF {
		return elems, nil
	}
	bases, images := elems, blindedElems // POPRF: C = evaluated, D = blinded
	if c.p.mode == modeVOPRF {
		bases, images = blindedElems, elems
	}
	var m, z ristretto255.Element
	msm(&m, d, bases)
	msm(&z, d, images)
	if !c.p.verify(&c.b, &c.bEnc, &m, &z, &pc, &ps) {
		return nil, ErrProofVerification
	}
	return elems, nil
}

// VerifyProof checks a transcript's batched proof without any secret: the
// provider's public key, the info, and the flat blinded and evaluated arrays
// as exchanged. Auditors use it; it sees only blinded values.
func VerifyProof(pub *PublicKey, info, blinded, evaluated, proof []byte) error {
	c, err := NewClient(pub, info)
	if err != nil {
		return err
	}
	_, err = c.verifyBatch(blinded, nil, evaluated, proof)
	return err
}
