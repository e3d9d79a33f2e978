package oprf

import (
	"crypto/sha512"
	"encoding/binary"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
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
// each element length-prefixed; enc holds the encodings of M, Z, t2 and t3
// in that order.
func (p *params) challenge(b *[ElementSize]byte, enc *[4 * ElementSize]byte) ristretto255.Scalar {
	var buf [5*(2+ElementSize) + len(labelChallenge)]byte
	msg := appendLenPrefixed(buf[:0], b[:])
	for i := range 4 {
		msg = appendLenPrefixed(msg, enc[i*ElementSize:(i+1)*ElementSize])
	}
	msg = append(msg, labelChallenge...)
	var c ristretto255.Scalar
	hashToScalarWith(p.hashToScalar, &c, msg)
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
// and half = M/2, it computes the proof (c, s = r - c·k) with the secret
// nonce r. z is Z when the caller computed it from public values (a
// one-item batch's d_0·D[0]); if nil, prove computes Z = k·M, RFC 9497's
// ComputeCompositesFast. It computes the halves of M, t2 = r·G, t3 = r·M
// (and Z) and encodes them with one inversion (psi/internal/ristretto's
// DoubleAndEncode) rather than an inverse square root each. k and r only
// meet constant-time operations.
func (p *params) prove(k, r *ristretto255.Scalar, b *[ElementSize]byte, half, z *edwards25519.Point) [ProofSize]byte {
	var ke, re, rHalf edwards25519.Scalar
	toEdwardsScalar(&ke, k)
	toEdwardsScalar(&re, r)
	rHalf.Multiply(&re, scalarHalf)
	// halves holds M/2, t2/2, t3/2 and, unless z is given, Z/2.
	var halves [4]edwards25519.Point
	halves[0].Set(half)
	halves[1].ScalarBaseMult(&rHalf)
	halves[2].ScalarMult(&re, half)
	count := 3
	if z == nil {
		halves[3].ScalarMult(&ke, half)
		count = 4
	}
	ke, re, rHalf = edwards25519.Scalar{}, edwards25519.Scalar{}, edwards25519.Scalar{}
	var doubled [4 * ElementSize]byte
	ristretto.DoubleAndEncode(doubled[:count*ElementSize], halves[:count])
	// enc is M, Z, t2, t3, the challenge's order.
	var enc [4 * ElementSize]byte
	copy(enc[:ElementSize], doubled[:ElementSize])
	if z == nil {
		copy(enc[ElementSize:2*ElementSize], doubled[3*ElementSize:])
	} else {
		ristretto.Encode(enc[ElementSize:2*ElementSize], []edwards25519.Point{*z})
	}
	copy(enc[2*ElementSize:], doubled[ElementSize:3*ElementSize])
	c := p.challenge(b, &enc)
	var s ristretto255.Scalar
	s.Multiply(&c, k)
	s.Subtract(r, &s)
	var proof [ProofSize]byte
	copy(proof[:ScalarSize], c.Bytes())
	copy(proof[ScalarSize:], s.Bytes())
	return proof
}

// verify is VerifyProof after the composites M and Z, for B the point b
// with encoding bEnc: t2 = s·G + c·B, t3 = s·M + c·Z, and the recomputed
// challenge must equal c. Everything here is public (the proof, the
// composites and B), so it runs in variable time. With table, a fixed-base
// table of B, t2 costs two fixed-base multiplications (keyTerm); t3 has
// variable bases, so it is edwards25519's multi-scalar multiplication
// either way. Each of the four points is encoded once, for the challenge.
func (p *params) verify(b *edwards25519.Point, bEnc *[ElementSize]byte, table *r255.ScalarMultTable, m, z *edwards25519.Point, c, s *ristretto255.Scalar) bool {
	var ce, se edwards25519.Scalar
	toEdwardsScalar(&ce, c)
	toEdwardsScalar(&se, s)
	var enc [4 * ElementSize]byte
	var pts [3]edwards25519.Point // M, Z, t3
	pts[0].Set(m)
	pts[1].Set(z)
	pts[2].VarTimeMultiScalarMult([]*edwards25519.Scalar{&se, &ce}, []*edwards25519.Point{m, z})
	ristretto.Encode(enc[:2*ElementSize], pts[:2])
	ristretto.Encode(enc[3*ElementSize:], pts[2:])
	keyTerm((*[ElementSize]byte)(enc[2*ElementSize:3*ElementSize]), b, table, &ce, &se)
	want := p.challenge(bEnc, &enc)
	return want.Equal(c) == 1
}

// keyTerm writes the encoding of t2 = s·G + c·B to dst. With table, one of B
// (a Client that blinds additively holds one) both terms are fixed-base,
// go-ristretto's variable-time table look-ups: 64 mixed additions each and
// no doubling, against edwards25519's 256 doublings of a double-scalar
// multiplication, which is the path without a table. Both give the same
// point (TestVerifyPathsAgree).
func keyTerm(dst *[ElementSize]byte, b *edwards25519.Point, table *r255.ScalarMultTable, c, s *edwards25519.Scalar) {
	if table == nil {
		var t2 edwards25519.Point
		t2.VarTimeDoubleScalarBaseMult(c, b, s)
		ristretto.Encode(dst[:], []edwards25519.Point{t2})
		return
	}
	var cs, ss r255.Scalar
	var enc [ScalarSize]byte
	copy(enc[:], c.Bytes())
	cs.SetBytes(&enc)
	copy(enc[:], s.Bytes())
	ss.SetBytes(&enc)
	var sg, cb r255.Point
	sg.PublicScalarMultBase(&ss)
	cb.PublicScalarMultTable(table, &cs)
	sg.Add(&sg, &cb)
	sg.BytesInto(dst)
}
