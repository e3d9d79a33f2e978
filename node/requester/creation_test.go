package requester

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// holdWrites takes the write lock of r's node.db until the returned
// function is called: every commit (a query's creation, a sequence
// reservation) waits behind it.
func holdWrites(t *testing.T, r *Requester) (release func()) {
	t.Helper()
	holding, done := make(chan struct{}), make(chan struct{})
	go func() {
		_ = r.cfg.DB.Update(func(*bolt.Tx) error {
			close(holding)
			<-done
			return nil
		})
	}()
	<-holding
	release = sync.OnceFunc(func() { close(done) })
	t.Cleanup(release) // before the requester's cleanup, which closes the file
	return release
}

// leased reports the next sequence number r would use towards provider in
// period (0 before any was reserved): it moves when a request is signed.
func leased(r *Requester, period uint64, provider string) uint64 {
	r.seqs.mu.Lock()
	defer r.seqs.mu.Unlock()
	if l := r.seqs.leases[seqKey{period, provider}]; l != nil {
		return l.next
	}
	return 0
}

// A query's request is blinded and signed while its creation commits, but
// leaves only once the creation is durable: with the commit held back, the
// request is signed and the provider sees nothing; released, the query
// completes, stored.
func TestRequestLeavesOnlyOnceItsQueryIsDurable(t *testing.T) {
	// One identifier, and a large part, which goes through the coalescer
	// as one exchange and is blinded while the creation commits too.
	for _, size := range []int{1, 1000} {
		t.Run(fmt.Sprintf("identifiers=%d", size), func(t *testing.T) { requestLeavesOnceDurable(t, size) })
	}
}

func requestLeavesOnceDurable(t *testing.T, size int) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	p := n.providers[0]
	// A first query reserves a block of sequence numbers, so the second
	// signs without a commit of its own.
	query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)})
	before, _ := p.stats()
	signed := leased(r, n.period, p.msp)

	release := holdWrites(t, r)
	done := make(chan []*riskmeshv1.QueryEvent, 1)
	go func() {
		done <- query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(span(2, 2+size)...)})
	}()
	waitFor(t, "the request signed", func() bool { return leased(r, n.period, p.msp) > signed })
	time.Sleep(50 * time.Millisecond) // time for a request that did not wait to reach the provider
	if evals, _ := p.stats(); evals != before {
		t.Fatalf("the provider saw %d requests before the query's creation was durable", evals-before)
	}
	select {
	case ev := <-done:
		t.Fatalf("query ended before its creation was durable: %v", ev)
	default:
	}

	release()
	ev := <-done
	res := ev[len(ev)-1].GetResult()
	if res.Providers[0].Status != answered || len(res.Items[0].Hits) != 1 {
		t.Fatalf("result %v", res)
	}
	if evals, _ := p.stats(); evals != before+1 {
		t.Fatalf("%d requests for one query", evals-before)
	}
	rec, err := r.store.get(res.QueryId)
	must(t, err)
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_COMPLETE {
		t.Fatalf("stored record %v", rec.State)
	}
}

// A part whose query is not created (here: a retry whose client_request_id
// names a finished query, which replays it) is dropped from the exchange
// it was to share before anything leaves: the other query's part goes
// alone, billed for its own items only, and no budget stays reserved.
func TestPartOfAQueryNotCreatedIsNotSent(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 100))
	r := n.newRequester("", nil)
	windowNeverEnds(r)
	ready(t, r)
	p := n.providers[0]
	first := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3), ClientRequestId: "once"})
	release := holdInFlight(t, r, p)

	retried := make(chan []*riskmeshv1.QueryEvent, 1)
	go func() {
		retried <- query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(4, 5), ClientRequestId: "once"})
	}()
	waitFor(t, "the retry's part pending", func() bool { return pendingParts(r, p.msp) == 1 })
	fresh := make(chan []*riskmeshv1.QueryEvent, 1)
	go func() { fresh <- query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(6)}) }()
	waitFor(t, "both parts pending", func() bool { return pendingParts(r, p.msp) == 2 })
	ev := <-retried // replayed at once: its part waits, never to be sent
	if id := ev[0].GetAccepted().GetQueryId(); id != first[0].GetAccepted().GetQueryId() {
		t.Fatalf("retry answered as query %s, want the replay of %s", id, first[0].GetAccepted().GetQueryId())
	}
	evalsBefore, _ := p.stats()
	release()

	ev = <-fresh
	res := ev[len(ev)-1].GetResult()
	pr := res.Providers[0]
	if pr.Status != answered || len(res.Items[0].Hits) != 1 || pr.Amount != testPrice ||
		len(pr.Exchanges) != 1 || pr.Exchanges[0].Items != 1 {
		t.Fatalf("fresh query %v: want one item answered and billed in an exchange of its own", pr)
	}
	if evals, _ := p.stats(); evals != evalsBefore+1 {
		t.Fatalf("%d requests after the held one ended, want the fresh query's alone", evals-evalsBefore)
	}
	// The first query, the held one, the fresh one: one item each.
	var amounts []int64
	for _, e := range ledgerEntries(t, n) {
		amounts = append(amounts, e.Amount)
	}
	if want := []int64{testPrice, testPrice, testPrice}; !slices.Equal(amounts, want) {
		t.Fatalf("ledger entries of %v, want %v", amounts, want)
	}
	r.Close() // waits for the dropped part's query to end
	r.budget.mu.Lock()
	defer r.budget.mu.Unlock()
	if r.budget.reserved != 0 {
		t.Fatalf("%d tokens still reserved", r.budget.reserved)
	}
}
