package requester

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// BenchmarkQuery measures one-to-many queries end to end over QUIC
// loopback: normalise, blind and sign per provider, the providers' real
// node/provider evaluation (replay index, transcript and outbox commit),
// verification, catalog look-up, merge and persistence, with every party in
// this one process. Each provider lists 100,000 identifiers; half of each
// 1,000-identifier batch is listed. items/s counts identifiers times
// providers (the unit psi/catalogpsi's BenchmarkQuery reports for one
// provider); ids/s counts the query's identifiers.
func BenchmarkQuery(b *testing.B) {
	const listSize, batch = 100_000, 1000
	for _, providers := range []int{1, 3} {
		listings := make([][]int, providers)
		for i := range listings {
			listings[i] = span(0, listSize)
		}
		b.Run(fmt.Sprintf("QUIC/%dProviders/%d", providers, batch), func(b *testing.B) {
			n := newNetwork(b, 1<<50, listings...)
			r := n.newRequester("", func(c *setup) { c.mirror.CatalogChunk = riskmeshv1.DefaultCatalogChunk })
			ready(b, r)
			ids := phones(append(span(0, batch/2), span(listSize, listSize+batch/2)...)...)
			req := &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: ids}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var res *riskmeshv1.QueryResult
				err := r.Query(context.Background(), req, func(ev *riskmeshv1.QueryEvent) error {
					if x := ev.GetResult(); x != nil {
						res = x
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range res.GetProviders() {
					if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
						b.Fatalf("provider %v", p)
					}
				}
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(batch*providers*b.N)/secs, "items/s")
			b.ReportMetric(float64(batch*b.N)/secs, "ids/s")
		})
	}
}

// BenchmarkConcurrentSmallQueries measures 16 concurrent 100-identifier
// queries against 3 providers, coalesced (the default 2 ms window) and
// not (window disabled): coalescing trades a few milliseconds of latency
// for one request, proof, signature and ledger entry per provider instead
// of 16.
func BenchmarkConcurrentSmallQueries(b *testing.B) {
	const listSize, queries, batch = 100_000, 16, 100
	listings := [][]int{span(0, listSize), span(0, listSize), span(0, listSize)}
	n := newNetwork(b, 1<<50, listings...)
	for _, mode := range []struct {
		name   string
		window time.Duration
	}{{"Coalesced", 0}, {"Separate", -1}} {
		b.Run(fmt.Sprintf("%s/%dx%d", mode.name, queries, batch), func(b *testing.B) {
			r := n.newRequester("", func(c *setup) {
				c.mirror.CatalogChunk = riskmeshv1.DefaultCatalogChunk
				c.BatchWindow = mode.window
			})
			ready(b, r)
			reqs := make([]*riskmeshv1.QueryRequest, queries)
			for i := range reqs {
				lo := i * batch
				reqs[i] = &riskmeshv1.QueryRequest{Category: testCategory,
					Identifiers: phones(append(span(lo, lo+batch/2), span(listSize+lo, listSize+lo+batch/2)...)...)}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var wg sync.WaitGroup
				for _, req := range reqs {
					wg.Go(func() {
						if err := r.Query(context.Background(), req, func(*riskmeshv1.QueryEvent) error { return nil }); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(queries*batch*len(listings)*b.N)/secs, "items/s")
		})
	}
}

// BenchmarkSmallQuery measures a one-identifier query to one provider over
// QUIC loopback, sent alone ("Lone": nothing else to that provider in
// flight, so it goes at once) and behind a request held in flight at the
// provider ("BehindInFlight": it waits the whole default window, as every
// part did before the window became adaptive). p50-ms is the median
// latency of a query.
func BenchmarkSmallQuery(b *testing.B) {
	n := newNetwork(b, 1<<50, span(0, 100_000))
	r := n.newRequester("", func(c *setup) { c.mirror.CatalogChunk = riskmeshv1.DefaultCatalogChunk })
	ready(b, r)
	req := &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(7)}
	for _, behind := range []bool{false, true} {
		name := "Lone"
		if behind {
			name = "BehindInFlight"
		}
		b.Run(name, func(b *testing.B) {
			if behind {
				defer holdInFlight(b, r, n.providers[0])()
			}
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				var res *riskmeshv1.QueryResult
				err := r.Query(context.Background(), req, func(ev *riskmeshv1.QueryEvent) error {
					if x := ev.GetResult(); x != nil {
						res = x
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if p := res.GetProviders()[0]; p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || len(res.Items[0].Hits) != 1 {
					b.Fatalf("provider %v", p)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "p50-ms")
		})
	}
}
