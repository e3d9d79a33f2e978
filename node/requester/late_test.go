package requester

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// len is the number of pending late fetches.
func (l *lateFetches) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// changes returns a channel closed at the next end of a late fetch or
// update of a record by one.
func (l *lateFetches) changes() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// waitLate waits, late fetch by late fetch, until cond holds.
func waitLate(t *testing.T, r *Requester, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		changed := r.late.changes() // before the check: no change is missed
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %s (%d late requests pending)", what, r.late.len())
		}
	}
}

// storedPart returns msp's part of a stored query, hits included.
func storedPart(t testing.TB, r *Requester, id, msp string) (*riskmeshv1.QueryRecord, *riskmeshv1.ProviderResult) {
	t.Helper()
	rec, err := r.GetQuery(context.Background(), id)
	must(t, err)
	for _, pr := range rec.ProviderResults {
		if pr.Provider == msp {
			return rec, pr
		}
	}
	t.Fatalf("query %s has no part of %s", id, msp)
	return nil, nil
}

// ledgerEntries flushes every provider's outbox and returns what the
// ledger billed the requester in the network's period.
func ledgerEntries(t testing.TB, n *network) []accounting.RecordedEntry {
	t.Helper()
	for _, p := range n.providers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		must(t, p.node.Outbox().Flush(ctx))
		cancel()
	}
	page, err := n.regulator.Entries(context.Background(), accounting.EntriesQuery{Period: n.period, Party: requesterMSP})
	must(t, err)
	return page.Entries
}

const (
	answered    = riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED
	unavailable = riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
)

// A provider answers and bills a request whose answer never reaches the
// requester before the deadline: the query reports it UNAVAILABLE, then
// the late request gets the stored answer and the record shows it
// answered, billed once.
func TestLateAnswerIsRecovered(t *testing.T) {
	// P1 lists 0..9, P2 5..14.
	n := newNetwork(t, 1_000_000, span(0, 10), span(5, 15))
	r := n.newRequester("", nil)
	ready(t, r)
	slow := n.providers[0]
	slow.set(func(p *testProvider) { p.lose = 1 })

	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 7, 20),
		Deadline: durationpb.New(2 * time.Second)})
	id := events[0].GetAccepted().QueryId
	res := events[len(events)-1].GetResult()
	if p := providerResult(t, res, "P1MSP"); p.GetStatus() != unavailable || p.Amount != 0 || !strings.HasSuffix(p.Error.GetMessage(), lateNote) {
		t.Fatalf("at the deadline P1 is %v, want UNAVAILABLE, unbilled, still asked", p)
	}
	if p := providerResult(t, res, "P2MSP"); p.GetStatus() != answered || p.GetLate() || res.Amount != 3*testPrice {
		t.Fatalf("at the deadline P2 is %v, amount %d", p, res.Amount)
	}

	waitLate(t, r, "P1's late answer in the record", func() bool {
		_, pr := storedPart(t, r, id, "P1MSP")
		return pr.GetStatus() != unavailable
	})
	rec, pr := storedPart(t, r, id, "P1MSP")
	if pr.GetStatus() != answered || !pr.GetLate() || pr.Amount != 3*testPrice || pr.Error != nil || pr.Attempts < 2 || pr.Items != 3 {
		t.Fatalf("late part %v, want ANSWERED late, 3 items billed, after at least 2 attempts", pr)
	}
	if c := pr.GetLateChange(); c.GetPreviousStatus() != unavailable || c.GetPreviousAmount() != 0 ||
		c.GetSource() != riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER || c.GetChangedAt() == nil {
		t.Fatalf("late change %v, want from UNAVAILABLE and 0 tokens by a late answer", c)
	}
	if pending, answered, givenUp := r.LateAnswers(); pending != 0 || answered != 1 || givenUp != 0 {
		t.Fatalf("LateAnswers = %d pending, %d answered, %d given up; want 0, 1, 0", pending, answered, givenUp)
	}
	if len(pr.Hits) != 2 || pr.Hits[0].Index != 0 || pr.Hits[1].Index != 1 ||
		pr.Hits[1].Label.ReasonCode != uint32(labelOfListed(1, 7).Reason) {
		t.Fatalf("late hits %v, want items 0 and 1 with P1's labels", pr.Hits)
	}
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_COMPLETE || rec.Result.Amount != 2*3*testPrice {
		t.Fatalf("record %v amount %d, want complete and both providers billed", rec.State, rec.Result.Amount)
	}
	for i, want := range [][]string{{"P1MSP"}, {"P1MSP", "P2MSP"}, nil} {
		var got []string
		for _, h := range rec.Result.Items[i].Hits {
			got = append(got, h.Provider)
		}
		if !slices.Equal(got, want) {
			t.Errorf("item %d hit at %v, want %v", i, got, want)
		}
	}
	if p := providerResult(t, rec.Result, "P1MSP"); p.GetStatus() != answered || p.Amount != 3*testPrice || len(p.Hits) != 0 {
		t.Errorf("result summary of P1 %v", p)
	}
	list, err := r.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{})
	must(t, err)
	if s := list.Queries[0]; s.Amount != 2*3*testPrice || s.HitIdentifiers != 2 {
		t.Errorf("summary %v", s)
	}
	bal, err := r.Balance(context.Background())
	must(t, err)
	if bal.UnsettledSpend != 2*3*testPrice {
		t.Errorf("unsettled spend %d, want %d", bal.UnsettledSpend, 2*3*testPrice)
	}

	// The provider answered one sequence number (the original and its
	// replay); the ledger billed it once and the transcript is kept.
	_, seqs := slow.stats()
	if len(seqs) < 2 || len(slices.Compact(slices.Clone(seqs))) != 1 {
		t.Fatalf("P1 answered sequences %v, want one, answered again", seqs)
	}
	var billed []accounting.RecordedEntry
	for _, e := range ledgerEntries(t, n) {
		if e.Key.Responder == "P1MSP" {
			billed = append(billed, e)
		}
	}
	if len(billed) != 1 || billed[0].Key.Sequence != seqs[0] || billed[0].Amount != 3*testPrice {
		t.Fatalf("ledger entries of P1 %v, want one of %d tokens for sequence %d", billed, 3*testPrice, seqs[0])
	}
	got, err := r.GetTranscript(context.Background(), &riskmeshv1.GetTranscriptRequest{Period: n.period, Responder: "P1MSP", Sequence: seqs[0]})
	must(t, err)
	tr, err := r.Transcript(n.period, "P1MSP", seqs[0])
	must(t, err)
	if _, err := tr.Verify([][]byte{n.requester.signPub}, [][]byte{slow.signPub}); err != nil || len(got.Transcript) == 0 {
		t.Fatalf("late transcript: %v", err)
	}
	if r.late.len() != 0 {
		t.Fatalf("%d late requests still pending", r.late.len())
	}

	// Applying the same late part again changes nothing.
	spend, err := r.store.spend()
	must(t, err)
	added, err := r.store.replaceResult(id, pr, nil)
	must(t, err)
	again, _ := storedPart(t, r, id, "P1MSP")
	spendAgain, err := r.store.spend()
	must(t, err)
	if added != 0 || !proto.Equal(again, rec) || spendAgain[n.period] != spend[n.period] {
		t.Fatalf("a repeated update added %d and changed the record or the spend", added)
	}
}

// A late answer that fails its proof is DISPUTED like an on-time one:
// handed to the dispute filer, its transcript kept, its items billed.
func TestLateAnswerIsVerified(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	disputed := make(chan *transcript.Transcript, 4)
	r := n.newRequester("", func(c *setup) {
		c.Disputed = func(t *transcript.Transcript, _ string) { disputed <- t }
	})
	ready(t, r)
	p := n.providers[0]
	rogue, err := oprf.GenerateKey(nil)
	must(t, err)
	// The honest answer is lost; the replayed one is re-evaluated under
	// another key on the way out.
	p.set(func(p *testProvider) { p.lose, p.rogueKey = 1, rogue })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 30),
		Deadline: durationpb.New(time.Second)})
	id := events[0].GetAccepted().QueryId
	waitLate(t, r, "the late answer disputed", func() bool {
		_, pr := storedPart(t, r, id, "P1MSP")
		return pr.GetStatus() == riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED
	})
	rec, pr := storedPart(t, r, id, "P1MSP")
	_, seqs := p.stats()
	if pr.Amount != 3*testPrice || len(pr.Hits) != 0 || len(pr.Disputes) != 1 || pr.Disputes[0].Key.GetSequence() != seqs[0] ||
		pr.Disputes[0].State != riskmeshv1.DisputeState_DISPUTE_STATE_PENDING || rec.Result.Amount != 3*testPrice {
		t.Fatalf("late part %v, record amount %d: want disputed, billed, no hits, the exchange pending", pr, rec.Result.Amount)
	}
	if len(rec.Result.Items[0].Hits) != 0 {
		t.Fatalf("a disputed answer's hits were used: %v", rec.Result.Items[0])
	}
	tr, err := r.Transcript(n.period, "P1MSP", seqs[0])
	must(t, err)
	if len(disputed) != 1 || (<-disputed).Header != tr.Header {
		t.Fatal("the disputed late transcript was not handed to the dispute filer once")
	}
}

// One lost answer to a request coalescing two queries reaches both
// records, each with its own hits and items.
func TestCoalescedLateAnswerReachesEveryQuery(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	windowNeverEnds(r)
	ready(t, r)
	p := n.providers[0]
	// The two queries coalesce behind a request in flight; the answer to
	// theirs is lost.
	release := holdInFlight(t, r, p)
	p.set(func(p *testProvider) { p.lose = 1 })
	ids := make([]string, 2)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			// Query i asks 2+i (listed) and 50+i (not).
			ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(2+i, 50+i),
				Deadline: durationpb.New(time.Second)})
			ids[i] = ev[0].GetAccepted().QueryId
		})
	}
	waitFor(t, "both queries pending", func() bool { return pendingParts(r, p.msp) == 2 })
	release()
	wg.Wait()
	if _, seqs := p.stats(); len(slices.Compact(slices.Sorted(slices.Values(seqs)))) != 2 {
		t.Fatalf("sequences %v, want the held request's and one for both queries", seqs)
	}
	for i, id := range ids {
		waitLate(t, r, "the late answer in query "+id, func() bool {
			_, pr := storedPart(t, r, id, "P1MSP")
			return pr.GetStatus() != unavailable
		})
		_, pr := storedPart(t, r, id, "P1MSP")
		if pr.GetStatus() != answered || pr.Amount != 2*testPrice || len(pr.Hits) != 1 || pr.Hits[0].Index != 0 ||
			pr.Hits[0].Label.ReasonCode != uint32(2+i) {
			t.Errorf("query %d: %v", i, pr)
		}
	}
	if e := ledgerEntries(t, n); len(e) != 2 || e[0].Amount+e[1].Amount != (1+4)*testPrice {
		t.Fatalf("ledger entries %v, want the held request's and one for the shared request", e)
	}
}

// A late request the provider refuses ends the retrying: the part stays
// UNAVAILABLE and nothing is billed.
func TestLateRequestRefusedStaysUnbilled(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	p := n.providers[0]
	p.set(func(p *testProvider) {
		p.drop = 1 // lost on the way: the provider never sees it
		p.failNext, p.failCode = 1, riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED
	})
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1),
		Deadline: durationpb.New(300 * time.Millisecond)})
	id := events[0].GetAccepted().QueryId
	waitLate(t, r, "the late request refused", func() bool {
		_, pr := storedPart(t, r, id, "P1MSP")
		return pr.Error.GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED
	})
	_, pr := storedPart(t, r, id, "P1MSP")
	if pr.GetStatus() != unavailable || pr.Amount != 0 || len(pr.Hits) != 0 || pr.Attempts != 2 ||
		!strings.HasPrefix(pr.Error.GetMessage(), "late request refused") {
		t.Fatalf("part %v, want UNAVAILABLE, unbilled, refused on the second attempt", pr)
	}
	if evals, seqs := p.stats(); evals != 2 || len(seqs) != 0 || r.late.len() != 0 {
		t.Fatalf("provider saw %d requests and answered %d; %d late pending", evals, len(seqs), r.late.len())
	}
	if e := ledgerEntries(t, n); len(e) != 0 {
		t.Fatalf("ledger billed %v", e)
	}
	if bal, _ := r.Balance(context.Background()); bal.UnsettledSpend != 0 {
		t.Fatalf("unsettled spend %d", bal.UnsettledSpend)
	}
	if pending, answered, givenUp := r.LateAnswers(); pending != 0 || answered != 0 || givenUp != 1 {
		t.Fatalf("LateAnswers = %d pending, %d answered, %d given up; want 0, 0, 1", pending, answered, givenUp)
	}
}

// The late-answer window, or the query's period closing, ends the
// retrying with the part UNAVAILABLE and unbilled.
func TestLateRequestGivesUp(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		// during runs while the late request is pending.
		during   func(t *testing.T, n *network)
		wantCode riskmeshv1.ErrorCode
	}{
		{"window ends", 300 * time.Millisecond, func(*testing.T, *network) {}, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE},
		{"period closes", 0, func(t *testing.T, n *network) {
			ctx := context.Background()
			_, err := n.regulator.Rollover(ctx)
			must(t, err)
			must(t, n.regulator.ClosePeriod(ctx, n.period))
			n.refresh()
		}, riskmeshv1.ErrorCode_ERROR_CODE_STALE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t, 1_000_000, span(0, 10))
			r := n.newRequester("", func(c *setup) { c.LateAnswerWindow = tt.window })
			ready(t, r)
			p := n.providers[0]
			// The first request is lost; the provider is busy for every
			// late one.
			p.set(func(p *testProvider) { p.drop, p.failNext = 1, 1<<30 })
			events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1),
				Deadline: durationpb.New(300 * time.Millisecond)})
			id := events[0].GetAccepted().QueryId
			if tt.window == 0 && r.late.len() != 1 { // the default window outlasts the test
				t.Fatalf("%d late requests pending, want 1", r.late.len())
			}
			tt.during(t, n)
			waitLate(t, r, "the late request given up", func() bool { return r.late.len() == 0 })
			waitLate(t, r, "the record updated", func() bool {
				_, pr := storedPart(t, r, id, "P1MSP")
				return pr.Error.GetCode() == tt.wantCode && !strings.HasSuffix(pr.Error.GetMessage(), lateNote)
			})
			_, pr := storedPart(t, r, id, "P1MSP")
			if pr.GetStatus() != unavailable || pr.Amount != 0 || pr.Attempts < 1 ||
				pr.GetLateChange().GetSource() != riskmeshv1.LateSource_LATE_SOURCE_GIVEN_UP {
				t.Fatalf("part %v, want UNAVAILABLE and unbilled, the late fetch given up", pr)
			}
			if _, seqs := p.stats(); len(seqs) != 0 {
				t.Fatalf("provider answered %v", seqs)
			}
		})
	}
}

// At most MaxLateAnswers late requests are pending: the oldest is dropped
// for a new one, which still recovers its answer.
func TestLateRequestsAreBounded(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", func(c *setup) {
		c.MaxLateAnswers = 1
		c.PhaseTimeout = time.Second // a swallowed late request is sent again soon
	})
	ready(t, r)
	p := n.providers[0]
	p.set(func(p *testProvider) { p.drop = 1 << 30 })
	ask := func(num int) string {
		ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(num),
			Deadline: durationpb.New(300 * time.Millisecond)})
		return ev[0].GetAccepted().QueryId
	}
	first := ask(1)
	second := ask(2)
	waitLate(t, r, "the first late request dropped", func() bool {
		_, pr := storedPart(t, r, first, "P1MSP")
		return pr.Error.GetMessage() == errLateDropped.Error()
	})
	if got := r.late.len(); got != 1 {
		t.Fatalf("%d late requests pending, want 1", got)
	}
	p.set(func(p *testProvider) { p.drop = 0 })
	waitLate(t, r, "the second query's late answer", func() bool {
		_, pr := storedPart(t, r, second, "P1MSP")
		return pr.GetStatus() == answered
	})
	if _, pr := storedPart(t, r, first, "P1MSP"); pr.GetStatus() != unavailable || pr.Amount != 0 {
		t.Fatalf("dropped part %v, want UNAVAILABLE and unbilled", pr)
	}
	if _, pr := storedPart(t, r, second, "P1MSP"); pr.Amount != testPrice || len(pr.Hits) != 1 {
		t.Fatalf("second part %v", pr)
	}
	if e := ledgerEntries(t, n); len(e) != 1 || e[0].Amount != testPrice {
		t.Fatalf("ledger entries %v, want only the second query's", e)
	}
}

// With the window disabled, nothing is asked after the deadline.
func TestLateAnswersDisabled(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", func(c *setup) { c.LateAnswerWindow = -1 })
	ready(t, r)
	n.providers[0].set(func(p *testProvider) { p.drop = 1 })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1),
		Deadline: durationpb.New(300 * time.Millisecond)})
	if p := providerResult(t, events[len(events)-1].GetResult(), "P1MSP"); p.GetStatus() != unavailable || strings.HasSuffix(p.Error.GetMessage(), lateNote) {
		t.Fatalf("part %v, want UNAVAILABLE without a late request", p)
	}
	if r.late.len() != 0 {
		t.Fatal("a late request started with the window disabled")
	}
}
