package provider

import (
	"fmt"
	"testing"
)

// BenchmarkHandleEvaluate measures a whole evaluate answer: checks,
// signature verification, batched evaluation with proof, response
// signature and the fsynced bbolt commit of transcript, replay index and
// outbox entry. Requests are signed outside the timer.
func BenchmarkHandleEvaluate(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFixture(b, nil)
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
