package hepsi

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchSetup builds a database of n random labeled entries under the
// documented parameters and a batch of 1,024 identifiers, half listed.
func benchSetup(b *testing.B, n int) (*Database, *Requester, [][]byte, map[string][]byte) {
	b.Helper()
	p, err := ParamsFor(n, 1024, 16)
	if err != nil {
		b.Fatal(err)
	}
	db, err := NewDatabase(p)
	if err != nil {
		b.Fatal(err)
	}
	items := randomItems(b, n, MinItemSize)
	labels := randomItems(b, n, 16)
	start := time.Now()
	if err := db.Add(items, labels); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d entries in %v: %+v", n, time.Since(start), p)
	r, err := NewRequester(p)
	if err != nil {
		b.Fatal(err)
	}
	batch := append(randomItems(b, 512, MinItemSize), items[:512]...)
	listed := make(map[string][]byte, 512)
	for i := range 512 {
		listed[string(items[i])] = labels[i]
	}
	return db, r, batch, listed
}

func BenchmarkLabeled(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		if testing.Short() && n > 10_000 {
			continue
		}
		b.Run(fmt.Sprintf("Query/%d", n), func(b *testing.B) {
			db, r, batch, listed := benchSetup(b, n)
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap := ms.HeapAlloc
			b.ReportAllocs()
			for b.Loop() {
				q, st, err := r.Query(nil, batch)
				if err != nil {
					b.Fatal(err)
				}
				qb, _ := q.MarshalBinary()
				q2, err := DecodeQuery(db.Params(), qb)
				if err != nil {
					b.Fatal(err)
				}
				a, err := db.Answer(nil, q2)
				if err != nil {
					b.Fatal(err)
				}
				ab, _ := a.MarshalBinary()
				a2, err := DecodeAnswer(db.Params(), ab)
				if err != nil {
					b.Fatal(err)
				}
				res, err := st.Results(a2)
				if err != nil {
					b.Fatal(err)
				}
				checkAgainstPlain(b, res, batch, listed)
				b.ReportMetric(float64(len(qb)), "B-up/op")
				b.ReportMetric(float64(len(ab)), "B-down/op")
			}
			b.ReportMetric(float64(heap)/(1<<20), "MB-db-heap")
		})
	}
}
