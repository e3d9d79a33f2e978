package requester

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/seal"
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
	for _, c := range []struct {
		providers int
		sealed    bool // the requester's node.db sealed (its query records and transcripts)
	}{{1, false}, {3, false}, {1, true}} {
		providers := c.providers
		listings := make([][]int, providers)
		for i := range listings {
			listings[i] = span(0, listSize)
		}
		name := fmt.Sprintf("QUIC/%dProviders/%d", providers, batch)
		if c.sealed {
			name += "/Sealed"
		}
		b.Run(name, func(b *testing.B) {
			var ring *seal.Keyring
			if c.sealed {
				var err error
				ring, err = seal.Create(filepath.Join(b.TempDir(), seal.KeyringFile), seal.PassphraseKEK("bench"), nil)
				must(b, err)
			}
			n := newNetwork(b, 1<<50, listings...)
			r := n.newRequester("", func(c *setup) { c.mirror.CatalogChunk, c.Seal = riskmeshv1.DefaultCatalogChunk, ring })
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
// not (window disabled): coalescing trades up to a window of latency for
// a few requests, proofs, signatures and ledger entries per provider
// instead of 16 (the first query's part goes at once, the others wait
// behind it).
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

// BenchmarkSmallQuery measures one-identifier queries to one provider
// over QUIC loopback, alternating in one loop (so both see the same load):
// to a provider with nothing else in flight ("lone": sent at once) and to
// one with a request held in flight ("behind": the part waits the whole
// default window, as every part did before the window became adaptive).
// It reports each kind's median latency and their ratio.
func BenchmarkSmallQuery(b *testing.B) {
	n := newNetwork(b, 1<<50, span(0, 100_000), span(0, 100_000))
	r := n.newRequester("", func(c *setup) { c.mirror.CatalogChunk = riskmeshv1.DefaultCatalogChunk })
	ready(b, r)
	idle, busy := n.providers[0], n.providers[1]
	defer holdInFlight(b, r, busy)()
	ask := func(p *testProvider) time.Duration {
		start := time.Now()
		ev := query(b, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(7), Providers: []string{p.msp}})
		if res := ev[len(ev)-1].GetResult(); res.Providers[0].Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || len(res.Items[0].Hits) != 1 {
			b.Fatalf("provider %v", res.Providers[0])
		}
		return time.Since(start)
	}
	var lone, behind []time.Duration
	for b.Loop() {
		lone = append(lone, ask(idle))
		behind = append(behind, ask(busy))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	l, w := median(lone), median(behind)
	b.ReportMetric(l, "lone-p50-ms")
	b.ReportMetric(w, "behind-p50-ms")
	b.ReportMetric(w/l, "behind/lone")
}

// BenchmarkFinish measures building a finished query's merged result
// (finish) from its pending part and one provider's result with a hit on
// every tenth identifier: the work between a large query's last answer and
// its result commit.
func BenchmarkFinish(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := make([]*riskmeshv1.ItemResult, n)
			for i := range items {
				items[i] = &riskmeshv1.ItemResult{Index: uint32(i)}
			}
			pr := &riskmeshv1.ProviderResult{Provider: "P1MSP", Status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, Items: uint32(n)}
			for i := 0; i < n; i += 10 {
				pr.Hits = append(pr.Hits, &riskmeshv1.ProviderHit{Index: uint32(i), Label: &riskmeshv1.Label{CategoryCode: 1, ListedDate: "2026-01-01"}})
			}
			pending := &riskmeshv1.QueryResult{Items: items, Providers: []*riskmeshv1.ProviderResult{{Provider: "P1MSP"}}}
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				rec := &riskmeshv1.QueryRecord{QueryId: "q", Identifiers: uint32(n), ProviderResults: []*riskmeshv1.ProviderResult{pr}}
				finish(rec, pending, riskmeshv1.QueryState_QUERY_STATE_COMPLETE, now)
			}
		})
	}
}

// BenchmarkQueryWrites measures the two writes on a one-identifier,
// one-provider query's path, its creation then its rewrite with the part
// and the result, each from its call to its return: Logged as the store
// makes them (durable by one append and fdatasync of a log record each,
// the bbolt commits following off the path), Committed the same writes as
// bbolt commits (two fdatasyncs each), as before the log.
func BenchmarkQueryWrites(b *testing.B) {
	for _, logged := range []bool{true, false} {
		name := "Committed"
		if logged {
			name = "Logged"
		}
		b.Run(name, func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "node.db"), 0o600, nil)
			must(b, err)
			defer db.Close()
			s, err := openStore(db, nil, time.Now, nil, nil)
			must(b, err)
			defer s.commits.Close()
			if !logged {
				s.commits = unlogged{s.commits}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("q%08d", i)
				rec := &riskmeshv1.QueryRecord{QueryId: id, Period: 1, CreatedAt: timestamppb.Now(),
					State: riskmeshv1.QueryState_QUERY_STATE_RUNNING}
				if _, err := s.create(rec, &riskmeshv1.QueryResult{QueryId: id}); err != nil {
					b.Fatal(err)
				}
				foldOutside(b, s)
				rec.ProviderResults = []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Amount: 1,
					Status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED}}
				rec.State = riskmeshv1.QueryState_QUERY_STATE_COMPLETE
				if err := s.update(rec, []saved{{spend: 1}}, rec.ProviderResults, true); err != nil {
					b.Fatal(err)
				}
				foldOutside(b, s)
			}
		})
	}
}

// foldOutside waits, off the clock, for the fold of the write before: a
// query's exchange, between its two writes, takes longer than a fold.
func foldOutside(b *testing.B, s *store) {
	b.StopTimer()
	must(b, groupcommit.Settle(s.commits))
	b.StartTimer()
}

// unlogged makes a committer's logged writes plain bbolt commits.
type unlogged struct{ committer }

func (u unlogged) Log(_ []byte, fn func(*bolt.Tx) error) error { return u.Update(fn) }
