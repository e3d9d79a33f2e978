//go:build unix

package requester

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// BenchmarkConcurrentLiveQueries measures 16 concurrent one-identifier
// live queries (half of them listed) to one provider listing 10,000
// identifiers, over QUIC
// loopback with the real node/provider, coalesced (the default window:
// the first query's part goes at once, the other fifteen wait behind it
// and share one exchange) and not (window disabled: one POPRF step and one
// homomorphic evaluation per query). It reports CPU seconds per query
// (requester and provider together, one process), the homomorphic queries
// the provider evaluated per round, and wall milliseconds per round.
func BenchmarkConcurrentLiveQueries(b *testing.B) {
	const listSize, queries = 10_000, 16
	for _, mode := range []struct {
		name   string
		window time.Duration
	}{{"Coalesced", 0}, {"Separate", -1}} {
		b.Run(fmt.Sprintf("%s/%dx1", mode.name, queries), func(b *testing.B) {
			// A network each: a second requester node would reuse the
			// first one's sequence numbers.
			n := buildServing(b, 1<<50, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, listSize))
			p := n.providers[0]
			r := n.newRequester("", func(c *setup) { c.BatchWindow = mode.window })
			reqs := make([]*riskmeshv1.QueryRequest, queries)
			for i := range reqs {
				reqs[i] = &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(2 * i * listSize / queries),
					Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE}
			}
			round := func() {
				var wg sync.WaitGroup
				for _, req := range reqs {
					wg.Go(func() {
						err := r.Query(context.Background(), req, func(ev *riskmeshv1.QueryEvent) error {
							if res := ev.GetResult(); res != nil && res.Providers[0].Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
								b.Errorf("provider %v", res.Providers[0])
							}
							return nil
						})
						if err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			round() // the key pair made and its evaluation key sent once
			he, _ := liveQueries(p)
			cpu := cputime.Self()
			b.ResetTimer()
			for b.Loop() {
				round()
			}
			b.StopTimer()
			used := cputime.Self() - cpu
			after, _ := liveQueries(p)
			b.ReportMetric(used.Seconds()/float64(queries*b.N), "cpu-s/query")
			b.ReportMetric(float64(after-he)/float64(b.N), "he-queries/round")
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "wall-ms/round")
		})
	}
}
