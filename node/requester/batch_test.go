package requester

import (
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// windowNeverEnds replaces r's window timer with one that never fires: a
// part that waits for the window waits until a request in flight ends, or
// for ever.
func windowNeverEnds(r *Requester) {
	r.batcher.afterFunc = func(time.Duration, func()) func() bool { return func() bool { return true } }
}

// holdInFlight sends a one-identifier query (phone 1) to p alone and returns
// once its request is held inside the provider, in flight. release lets it
// be answered and waits for that query, which must be answered.
func holdInFlight(t testing.TB, r *Requester, p *testProvider) (release func()) {
	t.Helper()
	hang := make(chan struct{})
	p.set(func(p *testProvider) { p.hang = hang })
	before, _ := p.stats()
	done := make(chan *riskmeshv1.QueryResult, 1)
	go func() {
		ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1), Providers: []string{p.msp},
			Deadline: durationpb.New(5 * time.Minute)}) // held as long as a benchmark runs
		done <- ev[len(ev)-1].GetResult()
	}()
	waitFor(t, "the held request at the provider", func() bool { evals, _ := p.stats(); return evals > before })
	p.set(func(p *testProvider) { p.hang = nil }) // only that one is held
	return func() {
		t.Helper()
		close(hang)
		if res := <-done; res == nil || res.Providers[0].Status != answered || len(res.Items[0].Hits) != 1 {
			t.Fatalf("the held query ended %v, want answered with one hit", res)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// pendingParts is how many query parts wait to be sent to provider.
func pendingParts(r *Requester, provider string) int {
	r.batcher.mu.Lock()
	defer r.batcher.mu.Unlock()
	n := 0
	for k, bt := range r.batcher.pending {
		if k.provider == provider {
			n += len(bt.parts)
		}
	}
	return n
}

// A query with nothing else in flight to its provider is sent at once: with
// a window that never ends, queries one after the other all complete, one
// request each.
func TestLoneQueryDoesNotWaitForTheWindow(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	windowNeverEnds(r)
	ready(t, r)
	const queries = 3
	for i := range queries {
		done := make(chan []*riskmeshv1.QueryEvent, 1)
		go func() { done <- query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(i)}) }()
		select {
		case ev := <-done:
			if res := ev[len(ev)-1].GetResult(); res.Providers[0].Status != answered || len(res.Items[0].Hits) != 1 {
				t.Fatalf("query %d: %v", i, res)
			}
		case <-time.After(time.Minute):
			t.Fatalf("query %d waited for a window that never ends", i)
		}
	}
	if evals, seqs := n.providers[0].stats(); evals != queries || len(seqs) != queries {
		t.Fatalf("%d lone queries made %d requests, %d answered; want one each", queries, evals, len(seqs))
	}
}

// While a request to a provider is in flight, the queries that arrive are
// coalesced into one request, sent when the one in flight ends (the window
// never ends here), each query getting its own hits and bill, the shared
// request billed once.
func TestQueriesCoalesceWhileOneIsInFlight(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 100))
	r := n.newRequester("", nil)
	windowNeverEnds(r)
	ready(t, r)
	p := n.providers[0]
	release := holdInFlight(t, r, p)
	const queries = 8
	results := make(chan [2]any, queries)
	for i := range queries {
		go func() {
			// Query i asks 2i+2 (listed), 1000+i (not listed).
			ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(2*i+2, 1000+i)})
			results <- [2]any{i, ev[len(ev)-1].GetResult()}
		}()
	}
	waitFor(t, "every query part pending", func() bool { return pendingParts(r, p.msp) == queries })
	if evals, _ := p.stats(); evals != 1 {
		t.Fatalf("%d requests while one was in flight, want the queries held back", evals)
	}
	release()
	for range queries {
		x := <-results
		i, res := x[0].(int), x[1].(*riskmeshv1.QueryResult)
		if len(res.Items[0].Hits) != 1 || res.Items[0].Hits[0].Label.ReasonCode != uint32(2*i+2) || len(res.Items[1].Hits) != 0 {
			t.Errorf("query %d: %v", i, res.Items)
		}
		if pr := res.Providers[0]; pr.Status != answered || pr.Items != 2 || pr.Amount != 2*testPrice {
			t.Errorf("query %d billed %v", i, pr)
		}
	}
	if evals, seqs := p.stats(); evals != 2 || len(seqs) != 2 || seqs[0] == seqs[1] {
		t.Fatalf("%d requests, sequences %v; want the held one and one coalesced", evals, seqs)
	}
	if e := ledgerEntries(t, n); len(e) != 2 || e[0].Amount+e[1].Amount != (1+2*queries)*testPrice {
		t.Fatalf("ledger entries %v, want the held request and the coalesced one", e)
	}
}

// Coalescing never builds a request above the batch limit: parts that
// reach it are sent at once, even while a request is in flight.
func TestCoalescingKeepsTheBatchLimit(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 100))
	r := n.newRequester("", func(c *setup) { c.MaxBatch = 4 })
	windowNeverEnds(r)
	ready(t, r)
	p := n.providers[0]
	release := holdInFlight(t, r, p)
	results := make(chan *riskmeshv1.QueryResult, 3)
	ask := func(a, b int) {
		go func() {
			ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(a, b)})
			results <- ev[len(ev)-1].GetResult()
		}()
	}
	ask(10, 11)
	waitFor(t, "the first part pending", func() bool { return pendingParts(r, p.msp) == 1 })
	ask(12, 13) // fills the limit: sent at once
	waitFor(t, "the full request at the provider", func() bool { evals, _ := p.stats(); return evals == 2 })
	if got := pendingParts(r, p.msp); got != 0 {
		t.Fatalf("%d parts pending after the batch limit was reached", got)
	}
	ask(14, 15)
	waitFor(t, "the third part pending", func() bool { return pendingParts(r, p.msp) == 1 })
	release()
	for range 3 {
		if res := <-results; res.Providers[0].Status != answered || len(res.Items[0].Hits) != 1 || len(res.Items[1].Hits) != 1 {
			t.Errorf("result %v", res)
		}
	}
	if evals, seqs := p.stats(); evals != 3 || len(seqs) != 3 {
		t.Fatalf("%d requests, %d answered; want the held one, the full one and the last", evals, len(seqs))
	}
}
