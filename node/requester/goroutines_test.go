package requester

import (
	"runtime/metrics"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestSequentialQueriesStartNoGoroutines checks that one-identifier
// queries to three providers, one after another, run their goroutines (the
// query's, one per provider, the exchanges', the unblinding, the signature
// checks, the group commits' on both sides) on idle workers
// (internal/workers): across them the process starts fewer goroutines than
// queries, where each query started some thirteen before.
func TestSequentialQueriesStartNoGoroutines(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(5, 15), span(10, 20))
	r := n.newRequester("", nil)
	ready(t, r)
	ask := func(i int) {
		t.Helper()
		query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(i % 20)})
	}
	// The first queries dial the providers and leave the workers waiting.
	for i := range 3 {
		ask(i)
	}
	const queries = 30
	before := goroutinesCreated()
	for i := range queries {
		ask(i)
	}
	started := goroutinesCreated() - before
	t.Logf("%d goroutines started over %d sequential queries", started, queries)
	if started >= queries {
		t.Fatalf("%d goroutines started over %d sequential queries, want fewer than one a query", started, queries)
	}
}

// goroutinesCreated is the number of goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
