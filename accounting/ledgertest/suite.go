package ledgertest

import (
	"testing"
)

// Run runs the conformance scenario against h. Subtests run in order and
// depend on the ones before them; a failing step stops the scenario.
func Run(t *testing.T, h Harness) {
	t.Helper()
	want := []string{RegulatorMSP, Bank1MSP, Bank2MSP, Bank3MSP}
	for i, id := range h.all() {
		if id.MSPID != want[i] || id.Ledger == nil || id.Sign == nil || len(id.PublicKey) == 0 {
			t.Fatalf("harness identity %d: want MSP %s with a Ledger, a signer and a public key", i, want[i])
		}
	}
	t.Skip("ledgertest: scenario not written yet")
}
