package audit_test

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// FuzzVerifyFile feeds arbitrary transcript files through parsing and
// verification against a real ledger: whatever parses must verify to a full
// report without panicking, and anything else must be refused by the parser.
func FuzzVerifyFile(f *testing.F) {
	c := audittest.New(f, f.TempDir(), nil)
	for _, b := range []audittest.Behaviour{audittest.Honest, audittest.WrongKey} {
		tr := c.Exchange(f, b, audittest.Identifiers...)
		if b == audittest.Honest {
			c.Record(f, tr)
		}
		data, err := tr.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := transcript.Parse(data)
		if err != nil {
			return
		}
		r, err := audit.Verify(audittest.Context(t), tr, c.Requester.Ledger)
		if err != nil {
			return // parts inconsistent with the header
		}
		if len(r.Checks) != len(allChecks) {
			t.Fatalf("%d checks, want %d", len(r.Checks), len(allChecks))
		}
		_ = audit.Decide(r)
	})
}
