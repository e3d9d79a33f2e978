// Package dleq proves and verifies, in one 64-byte proof, that every element
// of a batch was raised to the same secret exponent k whose commitment
// K = k·G the verifier holds: log_G(K) = log_{D[i]}(C[i]) for all i. It is
// the batched discrete-log-equality proof of RFC 9497 section 2.2 over
// ristretto255 (RFC 9496), with RiskMesh's batch-binding composite seed
// (docs/protocol/oprf.md, "proof rule"): every composite weight depends on
// the whole batch, so a prover must fix all of its answers before it learns
// any weight, which defeats Wagner's k-tree forgery of per-item weights.
//
// The batch is folded into one statement with composite weights d_i,
//
//	seed  = SHA-512(len(L) || L || "seed" || K || I2OSP(n, 4) || D[0..n) || C[0..n))
//	blk_j = SHA-512(len(L) || L || "weight" || seed || I2OSP(j, 4))
//	d_i   = bytes [16(i mod 4), 16(i mod 4)+16) of blk_⌊i/4⌋, a 128-bit little-endian integer
//	M     = Σ d_i·D[i],  Z = Σ d_i·C[i]
//
// (L the caller's label, one length byte then the label), and a Schnorr
// proof of log_G(K) = log_M(Z) follows with challenge
// c = SHA-512(len(L) || L || "challenge" || K || M || Z || r·G || r·M) mod ℓ
// and response s = r - c·k. The nonce r is hedged: hashed from k, the seed
// and 64 fresh random bytes, so a broken random source cannot leak k.
// Because d_i hashes the seed, which hashes every element, the weights need
// not hash C[i] and D[i] again (RFC 9497's rule does, for its per-item
// seed), and 128 bits suffice for a 2^-128 soundness error per hash
// evaluation (RFC 9497 uses full-size scalars). The prover costs one
// multi-scalar multiplication and the verifier two, each by Pippenger's
// bucket method (msm.go), whose cost falls with the weights' width, its
// windows handed to the cores as they come free. The elements are edwards25519 representatives of
// ristretto255 elements (psi/internal/ristretto), as the callers keep them.
//
// psi/ecdh uses it for ECDH-PSI re-masking. psi/oprf keeps its own proof
// code, whose framing RFC 9497's vectors pin; its ProofBinding128 rule
// draws 128-bit weights the same way (SmallWeights) from its own block hash.
package dleq
