package provider

import (
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// BenchmarkHandleEvaluate measures a whole evaluate answer: checks,
// signature verification, batched evaluation with proof, response
// signature and the fsynced bbolt commit of transcript, replay index and
// outbox entry. Requests are signed outside the timer.
func BenchmarkHandleEvaluate(b *testing.B) {
	for _, sealing := range []string{"plain", "sealed"} {
		n := 1000
		b.Run(fmt.Sprintf("%s/%d", sealing, n), func(b *testing.B) {
			var tweak func(*Config)
			if sealing == "sealed" { // transcripts sealed in node.db
				tweak = sealed(b)
			}
			f := newFixture(b, tweak)
			phones := make([]string, n)
			for i := range phones {
				phones[i] = fmt.Sprintf("+86138%08d", i)
			}
			q := f.newQuery(1, 0, phones...)
			blinded := q.req.GetEvaluate().GetBlinded()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				h := *q.header
				h.Sequence = uint64(i) + 100
				req := f.sign(&h, blinded)
				b.StartTimer()
				if f.handle(req).GetEvaluate() == nil {
					b.Fatal("evaluate refused")
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkImport measures a replacing import of a 100,000-row CSV file:
// parsing and normalising, staging in batches, and the final move, each
// transaction fsynced.
func BenchmarkImport(b *testing.B) {
	const rows = 100_000
	f := newFixture(b, importable)
	lines := make([]string, rows)
	for i := range lines {
		lines[i] = fmt.Sprintf("+86139%08d,1,%d,2024-05-01", i, i%1000)
	}
	req := &riskmeshv1.ImportListRequest{Source: "black-csv", Path: writeList(b, lines...), Replace: true}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		imp, err := f.p.Import(f.ctx, req)
		if err != nil || imp.GetAccepted() != rows {
			b.Fatalf("import: %v, %v", imp, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
