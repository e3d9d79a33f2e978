package audit_test

import (
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
)

// BenchmarkVerify/<items>: one transcript against the embedded ledger: four
// ledger reads, two ECDSA verifications and the batched DLEQ proof
// verification, which grows with the batch.
func BenchmarkVerify(b *testing.B) {
	c := audittest.New(b, b.TempDir(), nil)
	for _, n := range []int{1, 100, 1000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("phone:+86138%08d", i)
		}
		tr := c.Exchange(b, audittest.Honest, ids...)
		c.Record(b, tr)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := audittest.Context(b)
			for b.Loop() {
				r, err := audit.Verify(ctx, tr, c.Requester.Ledger)
				if err != nil || !r.OK() {
					b.Fatalf("%v %v", err, r.Failed())
				}
			}
		})
	}
}
