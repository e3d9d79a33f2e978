package oprf

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// ProofRule is how a batched proof derives its composite weights d_i, the
// scalars that fold the batch into the single DLEQ statement
// M = Σ d_i·C[i], Z = Σ d_i·D[i]. docs/protocol/oprf.md says where and why
// RiskMesh departs from RFC 9497 here.
type ProofRule uint8

const (
	// ProofBinding is RiskMesh's first rule and the zero value: the seed of
	// the weights also hashes every element of the batch (batchSeed), so
	// each weight depends on the whole batch and a prover must fix all of
	// its answers before it learns any weight. A prover that answers
	// C[i] = k·D[i] + e_i·P (P any point) passes only if Σ d_i·e_i = 0 for weights it
	// cannot steer, which a prover making q hash queries achieves with
	// probability about q/ℓ. Its weights are full scalars, hashed one per
	// item; ProofBinding128 keeps the binding and shortens them. Providers
	// still answer it, so that requesters can upgrade after them.
	ProofBinding ProofRule = iota
	// ProofRFC9497 is RFC 9497 section 2.2's rule: the seed hashes only B,
	// so d_i depends on item i alone. A prover may then change one error
	// e_i without moving any other term of Σ d_i·e_i, which turns forging
	// a proof for a large batch into a k-list sum problem (Wagner's k-tree
	// algorithm: about 2^34 hashes for 1,000 items). It stays for the RFC
	// vectors, circl interop, and auditing transcripts made before
	// ProofBinding; nodes neither produce nor accept new proofs under it.
	ProofRFC9497
	// ProofBinding128 is ProofBinding with 128-bit weights, four to a
	// SHA-512 output of the batch seed (weightBlock): for any answer with a
	// non-zero error vector, at most a 2^-128 fraction of weight vectors
	// give Σ d_i·e_i = 0, so a prover making q hash queries succeeds with
	// probability at most about q/2^128, ristretto255's own security level.
	// Half-length weights halve the windows of the multi-scalar
	// multiplications (docs/protocol/oprf.md, "128-bit weights"). NewEvaluator,
	// NewClient and VerifyProof use it; every new exchange asks for it.
	ProofBinding128
)

// Valid reports whether r is a rule this package implements.
func (r ProofRule) Valid() bool {
	return r == ProofBinding || r == ProofRFC9497 || r == ProofBinding128
}

func (r ProofRule) String() string {
	switch r {
	case ProofBinding:
		return "batch-binding"
	case ProofRFC9497:
		return "rfc9497"
	case ProofBinding128:
		return "batch-binding-128"
	}
	return fmt.Sprintf("proof-rule(%d)", uint8(r))
}

// batchSeed is the seed of the composite weights of the batch whose C[i]
// and D[i] are the flat arrays cs and ds (equal lengths, at most MaxBatch
// elements). Under ProofRFC9497 it is keySeed, RFC 9497's seed of B alone.
// Under ProofBinding and ProofBinding128 it is
//
//	Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(DST), 2) || DST ||
//	     I2OSP(n, 2) || C[0] || … || C[n-1] || D[0] || … || D[n-1])
//
// one SHA-512 pass over the batch, with DST the rule's own label
// (batchSeedDST, batchSeed128DST): the hedged nonce hashes the seed, so
// one batch proved under both rules with the same fresh bytes gets two
// unrelated nonces, not one nonce under two challenges, which would give
// the key away. Elements are 32 bytes each, so the framing is
// unambiguous. The caller has decoded every element, so the encodings
// hashed are canonical.
func (p *params) batchSeed(rule ProofRule, keySeed *[sha512.Size]byte, b *[ElementSize]byte, cs, ds []byte) [sha512.Size]byte {
	if rule == ProofRFC9497 {
		return *keySeed
	}
	dst := p.batchSeedDST
	if rule == ProofBinding128 {
		dst = p.batchSeed128DST
	}
	prefix := make([]byte, 0, 2+ElementSize+2+len(dst)+2)
	prefix = appendLenPrefixed(prefix, b[:])
	prefix = appendLenPrefixed(prefix, dst)
	prefix = binary.BigEndian.AppendUint16(prefix, uint16(len(cs)/ElementSize))
	h := sha512.New()
	h.Write(prefix)
	h.Write(cs)
	h.Write(ds)
	var seed [sha512.Size]byte
	h.Sum(seed[:0])
	return seed
}

// pointSums sets sums[j] = Σ d_i·points[j][i] in variable time, with d_i
// the composite weights of the batch (cs, ds) under rule and seed, over
// edwards25519 points, the representation both sides work on
// (psi/internal/ristretto, convert.go). The cores compute the weights in
// chunks and then the multi-scalar multiplications window by window, each
// taking the next piece as it comes free (dleq.WeightedSums). Only public
// values may go through it: composite weights and transcript elements.
func (p *params) pointSums(rule ProofRule, seed *[sha512.Size]byte, cs, ds []byte, sums []*edwards25519.Point, points ...[]edwards25519.Point) {
	n := len(cs) / ElementSize
	w := make([]edwards25519.Scalar, n)
	dleq.WeightedSums(n, func(lo, hi int) []edwards25519.Scalar {
		p.compositeWeights(rule, w[lo:hi], lo, seed, cs, ds)
		return w[lo:hi]
	}, sums, points...)
}

// compositeWeights sets w[j] to the composite weight d_{lo+j} of the batch
// (cs, ds) under rule and seed: a 128-bit weight under ProofBinding128,
// else RFC 9497's per-item HashToScalar (compositeScalar), converted from
// a ristretto255 scalar.
func (p *params) compositeWeights(rule ProofRule, w []edwards25519.Scalar, lo int, seed *[sha512.Size]byte, cs, ds []byte) {
	if rule == ProofBinding128 {
		msg := make([]byte, 0, 2+len(p.weightsDST)+sha512.Size+2)
		msg = appendLenPrefixed(msg, p.weightsDST)
		msg = append(msg, seed[:]...)
		msg = append(msg, 0, 0)
		dleq.SmallWeights(w, lo, func(j int) [sha512.Size]byte {
			return weightBlock(msg, j)
		})
		return
	}
	var (
		buf []byte
		d   ristretto255.Scalar
	)
	for j := range w {
		i := lo + j
		buf = p.compositeScalar(&d, buf, seed, i, element(cs, i), element(ds, i))
		toEdwardsScalar(&w[j], &d)
	}
}

// weightBlock returns block j of ProofBinding128's weights,
//
//	Hash(I2OSP(len(weightsDST), 2) || weightsDST || batchSeed || I2OSP(j, 2))
//
// (j < 2^14: four weights a block, at most MaxBatch of them), whose four
// 16-byte quarters are the little-endian weights d_4j … d_4j+3. msg is that
// input with room for I2OSP(j, 2) at its end, which it fills; the DST is
// framed and the seed has a fixed length, so the input is unambiguous.
func weightBlock(msg []byte, j int) [sha512.Size]byte {
	binary.BigEndian.PutUint16(msg[len(msg)-2:], uint16(j))
	return sha512.Sum512(msg)
}
