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
	// ProofBinding is RiskMesh's rule and the zero value: the seed of the
	// weights also hashes every element of the batch (batchSeed), so each
	// weight depends on the whole batch and a prover must fix all of its
	// answers before it learns any weight. A prover that answers
	// C[i] = k·D[i] + e_i·P (P any point) passes only if Σ d_i·e_i = 0 for weights it
	// cannot steer, which a prover making q hash queries achieves with
	// probability about q/ℓ. NewEvaluator, NewClient and VerifyProof use it.
	ProofBinding ProofRule = iota
	// ProofRFC9497 is RFC 9497 section 2.2's rule: the seed hashes only B,
	// so d_i depends on item i alone. A prover may then change one error
	// e_i without moving any other term of Σ d_i·e_i, which turns forging
	// a proof for a large batch into a k-list sum problem (Wagner's k-tree
	// algorithm: about 2^34 hashes for 1,000 items). It stays for the RFC
	// vectors, circl interop, and auditing transcripts made before
	// ProofBinding; nodes neither produce nor accept new proofs under it.
	ProofRFC9497
)

// Valid reports whether r is a rule this package implements.
func (r ProofRule) Valid() bool { return r == ProofBinding || r == ProofRFC9497 }

func (r ProofRule) String() string {
	switch r {
	case ProofBinding:
		return "batch-binding"
	case ProofRFC9497:
		return "rfc9497"
	}
	return fmt.Sprintf("proof-rule(%d)", uint8(r))
}

// batchSeed is the seed of the composite weights of the batch whose C[i]
// and D[i] are the flat arrays cs and ds (equal lengths, at most MaxBatch
// elements). Under ProofRFC9497 it is keySeed, RFC 9497's seed of B alone.
// Under ProofBinding it is
//
//	Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(batchSeedDST), 2) || batchSeedDST ||
//	     I2OSP(n, 2) || C[0] || … || C[n-1] || D[0] || … || D[n-1])
//
// one SHA-512 pass over the batch; elements are 32 bytes each, so the
// framing is unambiguous. The caller has decoded every element, so the
// encodings hashed are canonical.
func (p *params) batchSeed(rule ProofRule, keySeed *[sha512.Size]byte, b *[ElementSize]byte, cs, ds []byte) [sha512.Size]byte {
	if rule == ProofRFC9497 {
		return *keySeed
	}
	prefix := make([]byte, 0, 2+ElementSize+2+len(p.batchSeedDST)+2)
	prefix = appendLenPrefixed(prefix, b[:])
	prefix = appendLenPrefixed(prefix, p.batchSeedDST)
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
// the composite weights of the batch (cs, ds) under seed, over edwards25519
// points, the representation both sides work on (psi/internal/ristretto, convert.go).
// Each core computes the weights of its share of the batch and then its
// partial multi-scalar multiplications, in one pass (dleq.WeightedSums);
// the weights are converted from ristretto255 scalars on the share's
// goroutine. Only public values may go through it: composite weights and
// transcript elements.
func (p *params) pointSums(seed *[sha512.Size]byte, cs, ds []byte, sums []*edwards25519.Point, points ...[]edwards25519.Point) {
	n := len(cs) / ElementSize
	w := make([]ristretto255.Scalar, n)
	we := make([]edwards25519.Scalar, n)
	dleq.WeightedSums(n, func(lo, hi int) []edwards25519.Scalar {
		p.compositeWeights(w[lo:hi], lo, seed, cs, ds)
		for i := lo; i < hi; i++ {
			toEdwardsScalar(&we[i], &w[i])
		}
		return we[lo:hi]
	}, sums, points...)
}

// compositeWeights sets w[j] to the composite weight d_{lo+j} of the batch
// (cs, ds) under seed.
func (p *params) compositeWeights(w []ristretto255.Scalar, lo int, seed *[sha512.Size]byte, cs, ds []byte) {
	var buf []byte
	for j := range w {
		i := lo + j
		buf = p.compositeScalar(&w[j], buf, seed, i, element(cs, i), element(ds, i))
	}
}
