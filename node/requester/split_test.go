package requester

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

func TestSplitSize(t *testing.T) {
	r := &Requester{cfg: Config{SplitItems: 250}}
	for _, c := range []struct{ n, limit, want int }{
		{1, 65535, 0},
		{499, 65535, 0},    // below twice SplitItems: one exchange
		{500, 65535, 250},  // two of 250
		{1000, 65535, 250}, // four of 250
		{1101, 65535, 276}, // four of 275 or 276, never a tiny last one
		{1000, 100, 100},   // the provider's limit bounds each exchange
		{100000, 65535, 250} /* 400 of 250 */} {
		if got := r.splitSize(c.n, c.limit); got != c.want {
			t.Errorf("splitSize(%d, %d) = %d, want %d", c.n, c.limit, got, c.want)
		}
	}
	r.cfg.SplitItems = 0
	if got := r.splitSize(100000, 65535); got != 0 {
		t.Errorf("SplitItems 0 split into exchanges of %d", got)
	}
}

// splitQuery is the identifiers the split tests ask: 40 distinct phones
// (the even ones of 0..39 listed), one of them twice, and an invalid one.
func splitQuery() []*riskmeshv1.Identifier {
	ids := phones(span(0, 40)...)
	ids = append(ids, phones(7)...)
	return append(ids, &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "not a phone"})
}

func evens(n int) []int {
	var out []int
	for i := 0; i < n; i += 2 {
		out = append(out, i)
	}
	return out
}

// A large part split into pipelined exchanges gives exactly the result of
// the same part as one exchange: the same hits at the same indices, the
// same amount, and one kept, verifiable transcript and one ledger entry per
// exchange, in sequence order, whose amounts add up to it.
func TestSplitQueryEqualsUnsplit(t *testing.T) {
	// Two networks alike, so that neither node's sequence numbers or
	// ledger entries mix with the other's.
	n, other := newNetwork(t, 1_000_000, evens(100)), newNetwork(t, 1_000_000, evens(100))
	p := n.providers[0]
	split := n.newRequester("", func(c *setup) { c.SplitItems = 4 })
	whole := other.newRequester("", nil) // the default: never split
	ready(t, split)
	ready(t, whole)

	ev := query(t, split, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: splitQuery()})
	got := ev[len(ev)-1].GetResult()
	ev = query(t, whole, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: splitQuery()})
	want := ev[len(ev)-1].GetResult()
	if evals, _ := other.providers[0].stats(); evals != 1 {
		t.Fatalf("unsplit query sent %d requests", evals)
	}

	// 40 distinct identifiers at 4 per exchange: 10 exchanges.
	pr := providerResult(t, got, p.msp)
	if pr.Status != answered || pr.Items != 40 || pr.Amount != 40*testPrice || len(pr.Exchanges) != 10 {
		t.Fatalf("split part %v, want answered, 40 items billed in 10 exchanges", pr)
	}
	for i, it := range got.Items {
		if !proto.Equal(it, want.Items[i]) {
			t.Errorf("item %d: split %v, unsplit %v", i, it, want.Items[i])
		}
	}
	if len(got.Items) != 42 || len(got.Items[7].Hits) != 0 || len(got.Items[8].Hits) != 1 || len(got.Items[40].Hits) != 0 ||
		got.Items[41].InvalidReason == riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED {
		t.Fatalf("items %v", got.Items)
	}
	if wp := providerResult(t, want, p.msp); wp.Amount != pr.Amount {
		t.Fatalf("split billed %d, unsplit %d", pr.Amount, wp.Amount)
	}
	entries := ledgerEntries(t, n)
	billed := map[uint64]int64{}
	for _, e := range entries {
		billed[e.Key.Sequence] = e.Amount
	}
	items, last := uint32(0), uint64(0)
	for _, x := range pr.Exchanges {
		if x.Sequence <= last || x.Items < 4 || x.Items > 5 {
			t.Fatalf("exchanges %v: want increasing sequences of 4 or 5 items", pr.Exchanges)
		}
		last, items = x.Sequence, items+x.Items
		if billed[x.Sequence] != int64(x.Items)*testPrice {
			t.Errorf("exchange %d of %d items billed %d on the ledger", x.Sequence, x.Items, billed[x.Sequence])
		}
		tr, err := split.Transcript(n.period, p.msp, x.Sequence)
		must(t, err)
		if _, err := tr.Verify([][]byte{n.requester.signPub}, [][]byte{p.signPub}); err != nil || tr.Header.Count != x.Items {
			t.Fatalf("transcript of exchange %d: %v, count %d", x.Sequence, err, tr.Header.Count)
		}
	}
	if items != 40 || len(entries) != 10 {
		t.Fatalf("%d items in the exchanges, %d ledger entries", items, len(entries))
	}
}

// TestAdversaryProviderFailsOneSplitExchange: a provider answers one
// exchange of a split part under another OPRF key than the registered one
// (with a valid signature) and the others honestly. The part is DISPUTED
// with that one exchange listed and handed to the dispute filer, no hit of
// the part is used, and the amount is what the ledger bills for all of them.
func TestAdversaryProviderFailsOneSplitExchange(t *testing.T) {
	n := newNetwork(t, 1_000_000, evens(100))
	p := n.providers[0]
	disputed := make(chan *transcript.Transcript, 16)
	r := n.newRequester("", func(c *setup) {
		c.SplitItems = 4
		c.Disputed = func(t *transcript.Transcript, reason string) { disputed <- t }
	})
	ready(t, r)
	rogue, err := oprf.GenerateKey(nil)
	must(t, err)
	p.set(func(p *testProvider) { p.rogueKey, p.rogueOnce = rogue, true })

	ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: splitQuery()})
	pr := providerResult(t, ev[len(ev)-1].GetResult(), p.msp)
	if pr.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED || len(pr.Hits) != 0 || len(pr.Exchanges) != 10 {
		t.Fatalf("part %v, want disputed, no hits, 10 exchanges", pr)
	}
	if len(pr.Disputes) != 1 || len(disputed) != 1 {
		t.Fatalf("disputes %v, %d handed to the filer; want the one bad exchange", pr.Disputes, len(disputed))
	}
	bad := pr.Disputes[0].Key.GetSequence()
	if tr := <-disputed; tr.Header.Sequence != bad {
		t.Fatalf("filer got exchange %d, the part lists %d", tr.Header.Sequence, bad)
	}
	if !slices.ContainsFunc(pr.Exchanges, func(x *riskmeshv1.SentExchange) bool { return x.Sequence == bad }) {
		t.Fatalf("disputed exchange %d is not among the part's %v", bad, pr.Exchanges)
	}
	var sum int64
	for _, e := range ledgerEntries(t, n) {
		sum += e.Amount
	}
	if pr.Amount != 40*testPrice || sum != pr.Amount {
		t.Fatalf("part billed %d, ledger %d; want every exchange's items", pr.Amount, sum)
	}
}

// A requester that stops while a split part is under way ends up billed
// exactly what the ledger bills: the exchanges the provider answered
// before the stop (whose answers may or may not have arrived), and none
// of the ones it never answered. Once restarted, reconciliation matches
// the answers the node verified and recovers any the stop cut off, into
// the query's record.
func TestSplitQueryInterruptedKeepsWhatTheLedgerBills(t *testing.T) {
	n := newNetwork(t, 1_000_000, evens(100))
	p := n.providers[0]
	r, _, clk, reopen := n.reconcileRequester(t, func(c *Config) { c.SplitItems = 4 })
	release := make(chan struct{})
	defer close(release)
	p.set(func(p *testProvider) { p.hang, p.hangAfter = release, 2 })

	events := make(chan *riskmeshv1.QueryEvent, 8)
	go r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: splitQuery()},
		func(ev *riskmeshv1.QueryEvent) error { events <- ev; return nil })
	id := (<-events).GetAccepted().GetQueryId()
	waitFor(t, "two exchanges answered and a third held", func() bool {
		evals, seqs := p.stats()
		return len(seqs) == 2 && evals >= 3
	})
	r, _ = reopen() // stops the node mid-query and starts it again

	rec, err := r.GetQuery(context.Background(), id)
	must(t, err)
	entries := ledgerEntries(t, n)
	if pr := providerResult(t, rec.Result, p.msp); rec.State != riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED ||
		pr.Status != unavailable || len(pr.Exchanges) < 3 || len(entries) != 2 {
		t.Fatalf("record %v, part %v, %d ledger entries; want interrupted, unavailable after 3 exchanges or more, the two answers billed",
			rec.State, pr, len(entries))
	}
	reconcileOverAnHour(t, r, clk)
	rep, err := r.ReconcileReport(0)
	must(t, err)
	var sum int64
	for _, e := range entries {
		sum += e.Amount
		if _, err := r.Transcript(n.period, p.msp, e.Key.Sequence); err != nil {
			t.Fatalf("billed exchange %d has no transcript: %v", e.Key.Sequence, err)
		}
	}
	for _, s := range reconciled(rep, p.msp) {
		if s != riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED && s != riskmeshv1.ReconcileState_RECONCILE_STATE_RECOVERED {
			t.Fatalf("reconciliation %v, want every billed exchange matched or recovered", reconciled(rep, p.msp))
		}
	}
	rec, err = r.GetQuery(context.Background(), id)
	must(t, err)
	if pr := providerResult(t, rec.Result, p.msp); pr.Amount != sum || sum == 0 || len(reconciled(rep, p.msp)) != 2 {
		t.Fatalf("part billed %d, ledger %d, reconciled %v", pr.Amount, sum, reconciled(rep, p.msp))
	}
}
