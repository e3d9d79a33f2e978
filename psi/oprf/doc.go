// Package oprf is RiskMesh's oblivious pseudorandom function: RFC 9497 in
// partially-oblivious mode (POPRF, mode 0x02) with the ristretto255-SHA512
// suite, built for batches, with one departure: batched proofs bind the
// whole batch (see "Where it departs from RFC 9497").
//
// A provider holds a PrivateKey and, per public info string (RiskMesh uses
// "riskmesh/v1|<category>|<period>"; the package takes any bytes), an
// Evaluator: Evaluate and EvaluateBatch compute PRF outputs directly for its
// catalog, BlindEvaluate answers a requester's batch of blinded elements with
// one batched DLEQ proof. A requester holds a Client for the provider's
// PublicKey and the same info: Blind, then Finalize, which verifies the proof
// before it unblinds. VerifyProof lets an auditor check a transcript, which
// holds only blinded values. Elements travel as flat arrays of 32-byte
// encodings, proofs as 64 bytes (see wire.go); a batch holds at most MaxBatch
// elements because the proof's composite hash encodes indices in two bytes.
//
// # Where it departs from RFC 9497
//
// Proofs follow ProofBinding128 unless a caller asks for another rule
// (rule.go): the seed of the composite weights also hashes every element of
// the batch, under a versioned label ("RiskMesh-BatchSeed128-V1-"), because
// RFC 9497's weights depend on their own item only and let a dishonest
// prover forge a large batch's proof with Wagner's k-tree algorithm; and
// because every weight then depends on the whole batch, 128-bit weights,
// four to a SHA-512 output, give a 2^-128 soundness error per hash
// evaluation, ristretto255's own level, at half the multi-scalar
// multiplication cost of full-size ones. ProofBinding is the same binding
// with full-size weights (header version 2, still answered). The proof
// nonce is hedged (derived from the key, the batch and fresh randomness).
// Under ProofRFC9497 the package is byte-compatible with the RFC's vectors
// and with github.com/cloudflare/circl/oprf; outputs, element encodings and
// proof sizes
// are the same under every rule. docs/protocol/oprf.md has the details.
//
// # Speed
//
// The batched proof uses ComputeCompositesFast on the prover (M = Σ d_i·C_i
// by one multi-scalar multiplication, Z = t·M) and two multi-scalar
// multiplications on the verifier, except that a one-item batch's prover
// sums Z from the blinded element rather than computing t·M, and a Client
// holding the fixed-base table of B computes the proof's s·G + c·B from
// tables (docs/protocol/oprf.md, "The batched proof"); the per-item work (hash to group, scalar
// multiplications, encodings, composite weights) and the multi-scalar
// multiplications' windows run on GOMAXPROCS goroutines, each taking the
// next chunk or window as it comes free (psi/internal/parallel); Finalize inverts the blinds in batches (Montgomery's trick),
// and BlindEvaluate, working on edwards25519 points, encodes its evaluated
// elements as doubles with one field inversion per chunk (psi/internal/ristretto).
// The key-dependent constants (t, 1/t, the tweaked key, the composite seed)
// are computed once per Evaluator or Client.
//
// # Timing
//
// Operations on secrets run in constant time: r·H(x) with the blinds, 1/r
// (batch inversion) and the unblinding (1/r)·E, the provider's (1/t)·D,
// t·M, the hedged nonce's hash of the key, and the proof nonce's r·G and
// r·M. The multi-scalar multiplications
// and the proof verification run in variable time, which is safe because
// every value they touch is public: the composite weights d_i are hashes of
// the transcript, and the elements are the blinded and evaluated elements
// that both parties (and an auditor) see anyway.
//
// # What it does not promise
//
// Only ristretto255-SHA512 and only POPRF are exported (the OPRF and VOPRF
// modes exist internally to check the RFC vectors). Inputs are bytes: callers
// normalise identifiers first. The package does not bound how often a client
// queries; billing does that. Secrets are wiped where the package owns them,
// but Go gives no guarantee that copies do not linger in memory.
package oprf
