package recon

import (
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// BenchmarkReconcile runs whole reconciliations over real QUIC between two
// nodes in this process, n rows a side with half of them shared, each
// step's state saved in node.db, and reports rows (of both sides) per
// second. Both parties share the machine's cores.
func BenchmarkReconcile(b *testing.B) {
	for _, mode := range []struct {
		name  string
		proto transcript.Protocol
	}{{"RequesterLearns", transcript.ProtocolECDHRequesterLearns}, {"BothLearn", transcript.ProtocolECDHBothLearn}} {
		for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, n), func(b *testing.B) {
				p := newPair(b, pairOptions{reqList: phones(0, n), respList: phones(n/2, n+n/2), grants: grantAll(bankA)})
				b.ReportAllocs()
				seq := uint64(0)
				for b.Loop() {
					seq++
					res, err := p.req.Reconcile(b.Context(), p.conn.Do, request(mode.proto, seq))
					if err != nil {
						b.Fatal(err)
					}
					if res.Matches != n/2 {
						b.Fatalf("%d matches, want %d", res.Matches, n/2)
					}
				}
				b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
