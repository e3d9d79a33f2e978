package chaincode

import (
	"slices"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// A contract instance keeps its parties' signing keys parsed, and the keys
// that verify the most with their tables, across Record transactions
// (Contract.keys, ecsig.Keys): a ledger host recording a few entries per
// Record, one Record after another, then verifies as cheaply as one
// recording hundreds at a time. A batch counts each key for every entry
// that names its institution, so in a batch of a few hundred both parties'
// keys get tables at once (docs/benchmarks.md, "Contract CPU per entry").
// Tables change how fast a signature verifies, never the verdict, so every
// endorser agrees whatever it ran before.

// verifiesUnder reports whether sig over digest verifies under one of keys.
func verifiesUnder(keys []ecsig.Verifier, digest, sig []byte) bool {
	return slices.ContainsFunc(keys, func(v ecsig.Verifier) bool { return v.Verify(digest, sig) == nil })
}
