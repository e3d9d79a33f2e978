package audit_test

import (
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
)

// TestLiveTranscript: the POPRF step of a live exchange is audited like a
// catalog look-up (billed at the live price, proof against the registered
// key), the homomorphic step is reported undecided, and a dispute is
// upheld only on what the POPRF step shows.
func TestLiveTranscript(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	for _, tc := range []struct {
		name      string
		behaviour audittest.Behaviour
		verdict   accounting.Verdict
		reason    string
	}{
		{"honest", audittest.Honest, accounting.VerdictRejected, "homomorphic step is not decided"},
		{"corrupt element", audittest.CorruptElement, accounting.VerdictUpheld, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := c.LiveExchange(t, tc.behaviour, audittest.Identifiers...)
			c.Record(t, tr)
			r, err := audit.Verify(audittest.Context(t), tr, c.Requester.Ledger)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]audit.Status{
				audit.CheckAmount: audit.Pass, audit.CheckOPRFKey: audit.Pass, audit.CheckLiveStep: audit.Skip,
			} {
				if got, _ := r.Check(name); got.Status != want {
					t.Errorf("%s: %s (%s), want %s", name, got.Status, got.Detail, want)
				}
			}
			if got, _ := r.Check(audit.CheckLiveStep); !strings.Contains(got.Detail, "undecidable") {
				t.Errorf("live step detail %q does not say it is undecidable", got.Detail)
			}
			d := audit.Decide(r)
			if d.Verdict != tc.verdict || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("verdict %d %q, want %d with %q", d.Verdict, d.Reason, tc.verdict, tc.reason)
			}
			if len(d.Reason) > audit.MaxReasonLen {
				t.Errorf("reason of %d bytes", len(d.Reason))
			}
		})
	}
}
