package requester

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// span returns the integers lo..hi-1.
func span(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func phones(nums ...int) []*riskmeshv1.Identifier {
	out := make([]*riskmeshv1.Identifier, len(nums))
	for i, n := range nums {
		out[i] = &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: phone(n)}
	}
	return out
}

// query runs req and returns its events.
func query(t testing.TB, r *Requester, req *riskmeshv1.QueryRequest) []*riskmeshv1.QueryEvent {
	t.Helper()
	var events []*riskmeshv1.QueryEvent
	err := r.Query(context.Background(), req, func(ev *riskmeshv1.QueryEvent) error {
		events = append(events, ev)
		return nil
	})
	must(t, err)
	if len(events) < 2 || events[0].GetAccepted() == nil || events[len(events)-1].GetResult() == nil {
		t.Fatalf("events %v: want accepted first and result last", events)
	}
	return events
}

// syncNow runs one pass of r's catalog mirror and waits for its downloads.
func syncNow(r *Requester) { mirrorOf(r).Sync(context.Background()) }

// ready syncs the requester's catalogs and checks they all verified.
func ready(t testing.TB, r *Requester) {
	t.Helper()
	syncNow(r)
	for _, c := range mirrorOf(r).RemoteCatalogs() {
		if c.State != riskmeshv1.CatalogState_CATALOG_STATE_READY {
			t.Fatalf("catalog of %s is %s: %s", c.Provider, c.State, c.Error)
		}
	}
}

func providerResult(t testing.TB, res *riskmeshv1.QueryResult, msp string) *riskmeshv1.ProviderResult {
	t.Helper()
	for _, p := range res.Providers {
		if p.Provider == msp {
			return p
		}
	}
	t.Fatalf("no result for %s", msp)
	return nil
}

func TestQueryMergesHitsAcrossProviders(t *testing.T) {
	// P1 lists 0..99, P2 50..149, P3 100..199.
	n := newNetwork(t, 1_000_000, span(0, 100), span(50, 150), span(100, 200))
	r := n.newRequester("", nil)
	ready(t, r)
	if got := len(mirrorOf(r).RemoteCatalogs()); got != 3 {
		t.Fatalf("%d remote catalogs, want 3", got)
	}

	// 10 (P1), 60 (P1, P2), 120 (P2, P3), 199 (P3), 500 (none), 10 again,
	// then three invalid identifiers.
	ids := phones(10, 60, 120, 199, 500, 10)
	ids = append(ids,
		&riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "12"},
		&riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD, Value: "110105194912310021"},
		&riskmeshv1.Identifier{Value: "x"})
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: ids, ClientRequestId: "c-1"})

	acc := events[0].GetAccepted()
	if !slices.Equal(acc.Providers, []string{"P1MSP", "P2MSP", "P3MSP"}) || acc.ValidIdentifiers != 6 || acc.Period != n.period {
		t.Fatalf("accepted %v", acc)
	}
	if len(events) != 5 {
		t.Fatalf("%d events, want accepted + 3 provider results + result", len(events))
	}
	res := events[4].GetResult()
	want := map[int][]string{0: {"P1MSP"}, 1: {"P1MSP", "P2MSP"}, 2: {"P2MSP", "P3MSP"}, 3: {"P3MSP"}, 4: nil, 5: {"P1MSP"}}
	for i, item := range res.Items[:6] {
		var got []string
		for _, h := range item.Hits {
			got = append(got, h.Provider)
			num := []int{10, 60, 120, 199, 500, 10}[i]
			l := labelOfListed(int(h.Provider[1]-'0'), num)
			if h.Label.ReasonCode != uint32(l.Reason) || h.Label.CategoryCode != uint32(l.Category) ||
				h.Label.ListedDate != l.Listed.String() || !slices.Equal(h.Label.ProviderReference, l.Reference[:]) {
				t.Errorf("item %d at %s: label %v, want %+v", i, h.Provider, h.Label, l)
			}
		}
		if !slices.Equal(got, want[i]) || item.InvalidReason != 0 {
			t.Errorf("item %d: hits %v (invalid %v), want %v", i, got, item.InvalidReason, want[i])
		}
	}
	for i, reason := range []riskmeshv1.InvalidReason{
		riskmeshv1.InvalidReason_INVALID_REASON_COUNTRY_CODE,
		riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM,
		riskmeshv1.InvalidReason_INVALID_REASON_UNKNOWN_TYPE,
	} {
		item := res.Items[6+i]
		if item.InvalidReason != reason || item.InvalidDetail == "" || len(item.Hits) != 0 {
			t.Errorf("item %d: %v (%q), want %v", 6+i, item.InvalidReason, item.InvalidDetail, reason)
		}
	}
	// Five distinct valid identifiers, billed once each at every provider.
	for _, p := range res.Providers {
		if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || p.Items != 5 || p.Amount != 5*testPrice || p.Attempts != 1 {
			t.Errorf("provider %v", p)
		}
	}
	if res.Amount != 3*5*testPrice {
		t.Errorf("amount %d, want %d", res.Amount, 3*5*testPrice)
	}

	// The record is persisted, complete, and a repeated client request id
	// replays it without asking the providers again.
	rec, err := r.GetQuery(context.Background(), acc.QueryId)
	must(t, err)
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_COMPLETE || !proto.Equal(rec.Result, res) || len(rec.ProviderResults) != 3 {
		t.Fatalf("record %v", rec)
	}
	again := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: ids, ClientRequestId: "c-1"})
	if !proto.Equal(again[len(again)-1], events[len(events)-1]) || again[0].GetAccepted().QueryId != acc.QueryId {
		t.Fatal("replayed query differs from the first")
	}
	for _, p := range n.providers {
		if evals, seqs := p.stats(); evals != 1 || len(seqs) != 1 {
			t.Errorf("%s got %d evaluate requests, want 1", p.msp, evals)
		}
		tr, err := r.Transcript(n.period, p.msp, func() uint64 { _, s := p.stats(); return s[0] }())
		must(t, err)
		if _, err := tr.Verify([][]byte{n.requester.signPub}, [][]byte{p.signPub}); err != nil {
			t.Errorf("stored transcript of %s: %v", p.msp, err)
		}
	}
	bal, err := r.Balance(context.Background())
	must(t, err)
	if bal.UnsettledSpend != 30 || bal.Headroom != 1_000_000-30 || bal.Period != n.period {
		t.Errorf("balance %v", bal)
	}
}

func TestQueryValidation(t *testing.T) {
	n := newNetwork(t, 1000, span(0, 10))
	r := n.newRequester("", nil)
	tests := []struct {
		name string
		req  *riskmeshv1.QueryRequest
	}{
		{"no identifiers", &riskmeshv1.QueryRequest{Category: testCategory}},
		{"unpriced category", &riskmeshv1.QueryRequest{Category: "grey", Identifiers: phones(1)}},
		{"invalid category", &riskmeshv1.QueryRequest{Category: "a|b", Identifiers: phones(1)}},
		{"deadline too short", &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1), Deadline: durationpb.New(time.Millisecond)}},
		{"bad provider name", &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1), Providers: []string{"a b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Query(context.Background(), tt.req, func(*riskmeshv1.QueryEvent) error { return nil })
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Query = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestProviderDownIsUnavailableWhileOthersAnswer(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10), span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	n.providers[1].srv.Close()
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 50),
		Deadline: durationpb.New(time.Second)})
	res := events[len(events)-1].GetResult()
	down := providerResult(t, res, "P2MSP")
	if down.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE || down.Amount != 0 || down.Error == nil || down.Attempts < 1 {
		t.Fatalf("down provider: %v", down)
	}
	for _, msp := range []string{"P1MSP", "P3MSP"} {
		if p := providerResult(t, res, msp); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			t.Fatalf("%s: %v", msp, p)
		}
	}
	if got := len(res.Items[0].Hits); got != 2 || res.Amount != 2*3*testPrice {
		t.Fatalf("item 0 has %d hits, amount %d; want 2 hits and the two answering providers billed", got, res.Amount)
	}
}

func TestRetryResendsTheSameRequest(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	p := n.providers[0]
	p.set(func(p *testProvider) { p.failNext = 2 })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 20)})
	res := events[1].GetProviderResult()
	if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || res.Attempts != 3 || len(res.Hits) != 1 {
		t.Fatalf("result %v, want answered after 3 attempts", res)
	}
	if evals, seqs := p.stats(); evals != 3 || len(seqs) != 1 {
		t.Fatalf("provider saw %d requests and answered %d sequences; want 3 and 1", evals, len(seqs))
	}
}

func TestCatalogDigestMismatchIsRejected(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	bad := n.providers[1]
	bad.set(func(p *testProvider) { p.corrupt = true })
	r := n.newRequester("", nil)
	syncNow(r)
	for _, c := range mirrorOf(r).RemoteCatalogs() {
		switch c.Provider {
		case "P1MSP":
			if c.State != riskmeshv1.CatalogState_CATALOG_STATE_READY {
				t.Fatalf("good catalog: %v", c)
			}
		case "P2MSP":
			if c.State != riskmeshv1.CatalogState_CATALOG_STATE_FAILED || c.Error == "" {
				t.Fatalf("bad catalog: %v", c)
			}
		}
	}
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)})
	p := providerResult(t, events[len(events)-1].GetResult(), "P2MSP")
	if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED || p.Amount != 0 {
		t.Fatalf("provider without a verified catalog: %v", p)
	}
	if evals, _ := bad.stats(); evals != 0 {
		t.Fatalf("%d evaluate requests sent to a provider without a verified catalog", evals)
	}
}

func TestWrongOPRFKeyIsDisputed(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	disputed := make(chan *transcript.Transcript, 4)
	r := n.newRequester("", func(c *setup) {
		c.Disputed = func(t *transcript.Transcript, reason string) { disputed <- t }
	})
	ready(t, r)
	p := n.providers[0]
	rogue, err := oprf.GenerateKey(nil)
	must(t, err)
	p.set(func(p *testProvider) { p.rogueKey = rogue })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3)})
	res := providerResult(t, events[len(events)-1].GetResult(), "P1MSP")
	if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED || len(res.Hits) != 0 || res.Amount != 3*testPrice {
		t.Fatalf("result %v, want disputed, no hits, billed", res)
	}
	_, seqs := p.stats()
	tr, err := r.Transcript(n.period, p.msp, seqs[0])
	must(t, err)
	if _, err := tr.Verify([][]byte{n.requester.signPub}, [][]byte{p.signPub}); err != nil {
		t.Fatalf("kept transcript does not verify: %v", err)
	}
	if len(disputed) != 1 || (<-disputed).Header != tr.Header {
		t.Fatal("the disputed transcript was not handed to the dispute filer once")
	}
	got, err := r.GetTranscript(context.Background(), &riskmeshv1.GetTranscriptRequest{Period: n.period, Responder: p.msp, Sequence: seqs[0]})
	must(t, err)
	if want, _ := tr.MarshalBinary(); !bytes.Equal(got.Transcript, want) {
		t.Fatal("GetTranscript does not return the kept transcript's file encoding")
	}
	// An unknown exchange is NOT_FOUND (ErrNotFound), and the error says
	// that the transcript is missing, not a query.
	_, err = r.GetTranscript(context.Background(), &riskmeshv1.GetTranscriptRequest{Period: n.period, Responder: p.msp, Sequence: seqs[0] + 1000})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "transcript of exchange") || strings.Contains(err.Error(), "query") {
		t.Fatalf("GetTranscript of an unknown exchange: %v, want ErrNotFound naming the transcript", err)
	}
	if len(res.Disputes) != 1 || res.Disputes[0].Key.GetSequence() != seqs[0] ||
		res.Disputes[0].State != riskmeshv1.DisputeState_DISPUTE_STATE_PENDING || res.Disputes[0].Reason == "" {
		t.Fatalf("disputes %v, want the exchange pending with its reason", res.Disputes)
	}
}

func TestBudgetRefusesBeforeSending(t *testing.T) {
	// Limit 10 tokens at 2 per item: 6 items would cross it.
	n := newNetwork(t, 10, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3, 4, 5, 6)})
	p := providerResult(t, events[len(events)-1].GetResult(), "P1MSP")
	if p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED || p.Error.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_OVER_LIMIT {
		t.Fatalf("result %v, want refused over limit", p)
	}
	if evals, _ := n.providers[0].stats(); evals != 0 {
		t.Fatalf("%d requests sent over budget", evals)
	}
	// 5 items fit exactly; then nothing more does.
	events = query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3, 4, 5)})
	if p := providerResult(t, events[len(events)-1].GetResult(), "P1MSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("within budget: %v", p)
	}
	events = query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(7)})
	if p := providerResult(t, events[len(events)-1].GetResult(), "P1MSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED {
		t.Fatalf("after spending the limit: %v", p)
	}
}

func TestNamedProviders(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1),
		Providers: []string{"P2MSP", "NobodyMSP", "P2MSP"}})
	if got := events[0].GetAccepted().Providers; !slices.Equal(got, []string{"NobodyMSP", "P2MSP"}) {
		t.Fatalf("accepted providers %v", got)
	}
	res := events[len(events)-1].GetResult()
	if p := providerResult(t, res, "NobodyMSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED {
		t.Fatalf("unknown provider: %v", p)
	}
	if p := providerResult(t, res, "P2MSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("named provider: %v", p)
	}
	if evals, _ := n.providers[0].stats(); evals != 0 {
		t.Fatal("a provider that was not named was asked")
	}
}

func TestSequenceNumbersSurviveRestart(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	dir := t.TempDir()
	r := n.newRequester(dir, nil)
	var before []uint64
	for range 3 {
		s, err := r.seqs.next(n.period, "P1MSP")
		must(t, err)
		before = append(before, s)
	}
	must(t, r.Close())
	must(t, r.cfg.DB.Close())
	r2 := n.newRequester(dir, nil)
	s, err := r2.seqs.next(n.period, "P1MSP")
	must(t, err)
	if !slices.IsSorted(before) || s <= before[len(before)-1] {
		t.Fatalf("after restart got %d, before %v: want strictly above", s, before)
	}
	// Another responder or period has its own counter.
	if s, _ := r2.seqs.next(n.period, "P2MSP"); s != 1 {
		t.Fatalf("fresh counter starts at %d", s)
	}
}

func TestRunningQueriesAreInterrupted(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	dir := t.TempDir()
	r := n.newRequester(dir, nil)
	ready(t, r)
	hung := n.providers[1]
	release := make(chan struct{})
	defer close(release)
	hung.set(func(p *testProvider) { p.hang = release })

	// The query gets P1's answer, then the node stops while P2 hangs.
	got := make(chan *riskmeshv1.QueryEvent, 8)
	go r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)},
		func(ev *riskmeshv1.QueryEvent) error { got <- ev; return nil })
	acc := (<-got).GetAccepted()
	if pr := (<-got).GetProviderResult(); pr.GetProvider() != "P1MSP" {
		t.Fatalf("first provider result %v", pr)
	}
	must(t, r.Close())
	rec, err := r.GetQuery(context.Background(), acc.QueryId)
	must(t, err)
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED {
		t.Fatalf("after Close: %v", rec.State)
	}

	// A record a crash left RUNNING is INTERRUPTED at the next start, with
	// the answered provider kept and the other UNAVAILABLE.
	rec.State, rec.Result = riskmeshv1.QueryState_QUERY_STATE_RUNNING, nil
	rec.QueryId = "crashed"
	pending := &riskmeshv1.QueryResult{QueryId: "crashed", Items: []*riskmeshv1.ItemResult{{Index: 0}},
		Providers: []*riskmeshv1.ProviderResult{{Provider: "P1MSP"}, {Provider: "P2MSP"}}}
	s, err := openStore(r.cfg.DB, nil, time.Now, nil, nil) // r's log is closed
	must(t, err)
	_, err = s.create(rec, pending)
	must(t, err)
	must(t, s.commits.Close())
	must(t, r.cfg.DB.Close())
	r2 := n.newRequester(dir, nil)
	rec, err = r2.GetQuery(context.Background(), "crashed")
	must(t, err)
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED {
		t.Fatalf("after restart: %v", rec.State)
	}
	if p := providerResult(t, rec.Result, "P1MSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("answered part lost: %v", p)
	}
	if p := providerResult(t, rec.Result, "P2MSP"); p.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE {
		t.Fatalf("unanswered part: %v", p)
	}
	if len(rec.Result.Items[0].Hits) != 1 {
		t.Fatalf("hits of the answered provider not merged: %v", rec.Result.Items[0])
	}
}

func TestListQueriesPages(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	r := n.newRequester("", func(c *setup) {
		c.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		}
	})
	ready(t, r)
	var ids []string
	for i := range 7 {
		ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(i)})
		ids = append(ids, ev[0].GetAccepted().QueryId)
	}
	slices.Reverse(ids) // newest first
	var got []string
	tok := ""
	for range 10 {
		resp, err := r.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{PageSize: 3, PageToken: tok})
		must(t, err)
		for _, q := range resp.Queries {
			got = append(got, q.QueryId)
			if q.HitIdentifiers != 1 || q.Amount != testPrice || q.State != riskmeshv1.QueryState_QUERY_STATE_COMPLETE {
				rec, _ := r.GetQuery(context.Background(), q.QueryId)
				t.Errorf("summary %v of %v", q, rec)
			}
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("pages gave %v, want %v", got, ids)
	}
	for _, bad := range []string{"!", "AAAA", string(make([]byte, 200))} {
		if _, err := r.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{PageToken: bad}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	resp, err := r.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{Category: "grey"})
	must(t, err)
	if len(resp.Queries) != 0 {
		t.Fatalf("category filter kept %d", len(resp.Queries))
	}
	if _, err := r.GetQuery(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetQuery(unknown) = %v", err)
	}
}

func TestConcurrentRetriesOfOneClientRequestRunOnce(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	const calls = 4
	ids := make([]string, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			ev := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2), ClientRequestId: "same"})
			ids[i] = ev[0].GetAccepted().QueryId
			if res := ev[len(ev)-1].GetResult(); len(res.Items[0].Hits) != 1 {
				t.Errorf("call %d: %v", i, res)
			}
		})
	}
	wg.Wait()
	if ids[0] == "" || len(slices.Compact(slices.Clone(ids))) != 1 {
		t.Fatalf("query ids %v: want one", ids)
	}
	if evals, _ := n.providers[0].stats(); evals != 1 {
		t.Fatalf("%d evaluate requests for one client request", evals)
	}
}

func TestBatchTooLargeIsSplit(t *testing.T) {
	n := buildNetwork(t, 1_000_000, 3, span(0, 100))
	r := n.newRequester("", nil)
	ready(t, r)
	p := n.providers[0]
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3, 4, 5, 6, 7, 500)})
	res := events[1].GetProviderResult()
	if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || len(res.Hits) != 7 || res.Amount != 8*testPrice || res.Attempts != 4 {
		t.Fatalf("result %v: want answered in 3 requests after a refused one", res)
	}
	if evals, seqs := p.stats(); evals != 4 || len(seqs) != 3 {
		t.Fatalf("provider saw %d requests, answered %d", evals, len(seqs))
	}
	// The limit is remembered: the next query is split before sending.
	events = query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(10, 11, 12, 13)})
	if res := events[1].GetProviderResult(); res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || res.Attempts != 2 {
		t.Fatalf("second query %v", res)
	}
}

func TestReplayedSequenceIsResigned(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	// The first node uses sequence 1; a second one with the same identity
	// and a fresh database (restored from an old backup, say) starts at 1
	// again, for other identifiers.
	first := n.newRequester("", nil)
	ready(t, first)
	query(t, first, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)})
	r := n.newRequester("", nil)
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(2)})
	res := events[1].GetProviderResult()
	if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || res.Attempts != 2 || len(res.Hits) != 1 {
		t.Fatalf("result %v: want answered on the second attempt", res)
	}
	if _, seqs := n.providers[0].stats(); !slices.Equal(seqs, []uint64{1, 2}) {
		t.Fatalf("answered sequences %v", seqs)
	}
}
