// Package hepsi is RiskMesh's live mode: unbalanced labeled private set
// intersection from homomorphic encryption, in the style of APSI
// (Chen, Laine and Rindal, CCS 2017; labeled: Cong et al., CCS 2021), on
// BGV from github.com/tuneinsight/lattigo/v5 (schemes/bgv).
//
// Both sides work on PRF outputs only: the requester first runs the
// verified POPRF of psi/oprf with the provider, and the provider's
// Database holds the PRF outputs of its list, so the homomorphic step never
// sees an identifier and every item a requester can look up has been
// evaluated (and billed) by the provider's key.
//
// The provider (Database) hashes each item into HashCount bins (simple
// hashing) and keeps, per bin and bundle, a matching polynomial whose roots
// are its items' field limbs and label polynomials interpolating the
// masked label limbs; Add and Remove recompute only the bins an entry
// occupies. The requester (Requester) cuckoo-hashes its batch into the same
// table, encrypts a few powers of its limbs (an additive basis, so every
// power the evaluation needs is one product away), with seeded ciphertexts
// whose uniform halves it does not send, plus its relinearization key. The
// provider derives the other powers, evaluates every polynomial by
// Paterson-Stockmeyer with plaintexts scaled so no scale matching is
// needed, relinearizes once per polynomial and switches the results down to
// the smallest modulus (Answer). Matching results are multiplied by fresh
// random nonzero plaintexts, folded into the coefficients so it costs no
// noise. The requester decrypts: all-zero limbs mean a match, and the label
// limbs of that bundle, unmasked with its PRF output, are the label.
//
// A query carries the requester's relinearization key or, once the
// provider holds it, names it by digest (QueryByKeyDigest); the provider
// keeps keys in a bounded KeyCache, each for the owner that sent it and
// resolved for that owner only; a full cache evicts from the owners
// holding the most keys (docs/protocol/hepsi.md sections 7 and 9).
//
// Params fixes the ring and table shapes; ParamsFor returns the documented
// sets for lists of 10^4 to 1.6·10^7 entries and batches of 1 to 4,096.
// Query, Answer and Params have canonical, versioned encodings with
// decoders bounded before they allocate, and Digest methods for
// transcripts. docs/protocol/hepsi.md has the protocol, the parameters,
// what each side learns, the failure probabilities and what an auditor can
// and cannot establish.
//
// What it does not promise: the answer's ciphertext noise is not flooded,
// so it is not circuit-private in the formal sense (as in APSI); the number
// of bundles reveals the list size to within a bundle's capacity; lattigo
// draws the secret key and encryption noise from crypto/rand itself, and
// the injected io.Reader supplies only public seeds, the cuckoo walk and
// the provider's masks. Nothing here is constant time.
package hepsi
