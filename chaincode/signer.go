package chaincode

import (
	"crypto/ecdsa"
	"slices"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// tableFrom is how many entries of a Record batch must name a party
// before the transaction builds a table for its keys
// (ecsig.PrecomputedKey) and verifies their signatures with it instead of
// ecsig.VerifyKey: a table costs about as much CPU as 35 verifications
// save, so 64 leaves a margin. A node's batch holds one requester's
// entries, so in a batch of a few hundred both the requester's key and the
// responder's pay for their tables several times (docs/benchmarks.md,
// "Contract CPU per entry").
const tableFrom = 64

// signer is a registered transcript-signing key as one Record transaction
// uses it: parsed once, with a table if the batch names its institution
// tableFrom times or more. Both ways of verifying accept exactly the same
// signatures (ecsig's TestPrecomputedKeyAgreesWithVerifyKey and
// FuzzPrecomputedVerify), so every endorser reaches the same outcomes.
type signer struct {
	key   *ecdsa.PublicKey
	table *ecsig.PrecomputedKey
}

// newSigner returns key's signer for a batch that names its institution
// in entries entries.
func newSigner(key *ecdsa.PublicKey, entries int) *signer {
	s := &signer{key: key}
	if entries >= tableFrom {
		// A parsed registry key is a P-256 key, so this does not fail;
		// if it did, VerifyKey would verify as before.
		s.table, _ = ecsig.Precompute(key)
	}
	return s
}

func (s *signer) verify(digest, sig []byte) bool {
	if s.table != nil {
		return s.table.Verify(digest, sig) == nil
	}
	return ecsig.VerifyKey(s.key, digest, sig) == nil
}

// verifiesUnder reports whether sig over digest verifies under one of keys.
func verifiesUnder(keys []*signer, digest, sig []byte) bool {
	return slices.ContainsFunc(keys, func(s *signer) bool { return s.verify(digest, sig) })
}
