package oprf

import (
	"crypto/sha512"
	"encoding/binary"

	"github.com/gtank/ristretto255"
)

// The batched DLEQ proof of RFC 9497 section 2.2, with A = G always: it shows
// that log_G(B) = log_C[i](D[i]) for every i, through the composites
// M = Σ d_i·C[i] and Z = Σ d_i·D[i] (the prover computes Z = k·M instead,
// ComputeCompositesFast). POPRF proves k = t, B = t·G, C = evaluated,
// D = blinded; VOPRF proves k = skS, B = pkS, C = blinded, D = evaluated.

// compositeScalar sets dst to the composite weight d_i. buf is the caller's
// scratch (grown and returned).
func (p *params) compositeScalar(dst *ristretto255.Scalar, buf []byte, seed *[sha512.Size]byte, i int, ci, di []byte) []byte {
	buf = appendLenPrefixed(buf[:0], seed[:])
	buf = binary.BigEndian.AppendUint16(buf, uint16(i))
	buf = appendLenPrefixed(buf, ci)
	buf = appendLenPrefixed(buf, di)
	buf = append(buf, labelComposite...)
	hashToScalarWith(p.hashToScalar, dst, buf)
	return buf
}

// challenge is c = HashToScalar(Bm || M || Z || t2 || t3 || "Challenge"),
// each element length-prefixed.
func (p *params) challenge(b *[ElementSize]byte, m, z, t2, t3 *ristretto255.Element) ristretto255.Scalar {
	buf := make([]byte, 0, 5*(2+ElementSize)+len(labelChallenge))
	buf = appendLenPrefixed(buf, b[:])
	for _, e := range []*ristretto255.Element{m, z, t2, t3} {
		buf = binary.BigEndian.AppendUint16(buf, ElementSize)
		buf = append(buf, e.Bytes()...)
	}
	buf = append(buf, labelChallenge...)
	var c ristretto255.Scalar
	hashToScalarWith(p.hashToScalar, &c, buf)
	return c
}

// nonce sets r to the proof nonce from 64 fresh random bytes, which it
// wipes. Under ProofRFC9497 r is RFC 9497's RandomScalar of fresh, so the
// RFC vectors reproduce. Under the binding rules it is hedged:
//
//	r = HashToScalar_nonce(I2OSP(len(k), 2) || k || batchSeed || fresh)
//
// with k the encoded secret proof key and batchSeed the seed that hashes B and
// every element of the batch. Two proofs under one key share a nonce, which
// would reveal k, only if they prove the same batch with the same fresh
// bytes, and then they are the same proof: a broken or predictable random
// source cannot leak the key, and a good one keeps r uniform even if the
// hash were weak.
func (p *params) nonce(r *ristretto255.Scalar, rule ProofRule, k *[ScalarSize]byte, seed *[sha512.Size]byte, fresh []byte) error {
	if rule == ProofRFC9497 {
		return setUniformNonZero(r, fresh)
	}
	msg := make([]byte, 0, 2+ScalarSize+sha512.Size+uniformSize)
	msg = binary.BigEndian.AppendUint16(msg, ScalarSize)
	msg = append(msg, k[:]...)
	msg = append(msg, seed[:]...)
	msg = append(msg, fresh...)
	hashToScalarWith(p.nonceX, r, msg)
	clear(msg)
	clear(fresh)
	var zero ristretto255.Scalar
	if r.Equal(&zero) == 1 {
		return ErrRandomness
	}
	return nil
}

// prove is GenerateProof after the composites: given the secret k, B = k·G
// and M, it computes Z = k·M and the proof (c, s = r - c·k) with the secret
// nonce r. k and r only meet constant-time operations.
func (p *params) prove(k, r *ristretto255.Scalar, b *[ElementSize]byte, m *ristretto255.Element) [ProofSize]byte {
	var z, t2, t3 ristretto255.Element
	z.ScalarMult(k, m)
	t2.ScalarBaseMult(r)
	t3.ScalarMult(r, m)
	c := p.challenge(b, m, &z, &t2, &t3)
	var s ristretto255.Scalar
	s.Multiply(&c, k)
	s.Subtract(r, &s)
	var proof [ProofSize]byte
	copy(proof[:ScalarSize], c.Bytes())
	copy(proof[ScalarSize:], s.Bytes())
	return proof
}

// verify is VerifyProof after the composites: t2 = s·G + c·B,
// t3 = s·M + c·Z, and the recomputed challenge must equal c. Everything here
// is public, so it runs in variable time.
func (p *params) verify(bElem *ristretto255.Element, b *[ElementSize]byte, m, z *ristretto255.Element, c, s *ristretto255.Scalar) bool {
	var t2, t3 ristretto255.Element
	t2.VarTimeDoubleScalarBaseMult(c, bElem, s)
	t3.VarTimeMultiScalarMult([]*ristretto255.Scalar{s, c}, []*ristretto255.Element{m, z})
	want := p.challenge(b, m, z, &t2, &t3)
	return want.Equal(c) == 1
}
