// Package ledgertest is the conformance suite every accounting.Ledger
// backend must pass: one ordered scenario over the consortium's four fixed
// organisations, run with Run against a Harness.
//
// The scenario never assumes a fresh ledger between its subtests: each
// subtest uses its own categories and sequence numbers, so a backend that
// keeps one ledger for a whole `go test` run (the Fabric network) runs it as
// is. It does assume that it is the only writer while it runs, and that the
// ledger's regulator is RegulatorMSP. RegulatorMSP also holds the auditor
// role in the scenario.
//
// It reads each write back, often through another organisation's client,
// so it needs a backend that reads its own writes: on Fabric, clients that
// share one gateway peer (a submit returns once that peer has committed
// it; another peer may commit the block a moment later).
package ledgertest

import (
	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// The fixed organisations of the test network.
const (
	RegulatorMSP = "RegulatorMSP"
	Bank1MSP     = "Bank1MSP"
	Bank2MSP     = "Bank2MSP"
	Bank3MSP     = "Bank3MSP"
)

// Identity is one organisation as the suite uses it: a Ledger client that
// transacts as the organisation's MSP identity, and the key the organisation
// signs transcripts and endorsements with.
type Identity struct {
	MSPID  string
	Ledger accounting.Ledger
	// Sign signs 32-byte digests (ecsig); PublicKey is its PKIX DER public
	// key, which the suite registers as the transcript-signing key.
	Sign      ecsig.Sign
	PublicKey []byte
}

// Harness supplies the four organisations over one ledger.
type Harness struct {
	Regulator Identity
	Bank1     Identity
	Bank2     Identity
	Bank3     Identity
}

func (h *Harness) all() []*Identity {
	return []*Identity{&h.Regulator, &h.Bank1, &h.Bank2, &h.Bank3}
}
