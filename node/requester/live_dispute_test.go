package requester

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// liveExchange runs a live query of phones(ids...) at n's only provider
// and returns its part and the key of its one exchange, recorded on the
// ledger.
func liveExchange(t *testing.T, n *network, r *Requester, deadline time.Duration, ids ...int) (*riskmeshv1.ProviderResult, accounting.EntryKey) {
	t.Helper()
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(ids...),
		Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE, Deadline: durationpb.New(deadline)})
	p := providerResult(t, events[len(events)-1].GetResult(), n.providers[0].msp)
	if len(p.Exchanges) != 1 {
		t.Fatalf("part %v, want one exchange", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, n.providers[0].current().Outbox().Flush(ctx))
	return p, accounting.EntryKey{Period: n.period, Requester: requesterMSP, Responder: n.providers[0].msp, Sequence: p.Exchanges[0].Sequence}
}

// liveDisputes is the requester institution's dispute client at the
// regulator's auditor service.
func liveDisputes(t *testing.T, n *network) *dispute.Client {
	t.Helper()
	addr, _ := n.startAuditor(t)
	conn, err := dispute.Dial(context.Background(), n.requester.ledger, accounting.DefaultRegulator, addr, n.requester.cert)
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	c, err := dispute.New(dispute.Config{Ledger: n.requester.ledger, Auditor: riskmeshv1.NewAuditorClient(conn), AuditorMSP: accounting.DefaultRegulator})
	must(t, err)
	return c
}

// partyKeys returns the requester's and the provider's signing keys of
// the period, as the ledger holds them.
func partyKeys(t *testing.T, n *network) (requester, responder [][]byte) {
	t.Helper()
	ctx := context.Background()
	req, err := n.regulator.Institution(ctx, requesterMSP)
	must(t, err)
	resp, err := n.regulator.Institution(ctx, n.providers[0].msp)
	must(t, err)
	return req.SigningKeysIn(n.period), resp.SigningKeysIn(n.period)
}

// TestLiveLostAnswerIsRetried: the provider answers the homomorphic query
// but the answer is lost; the node sends the identical signed query again
// and the provider answers it again without a second POPRF step or bill.
// The node keeps the provider's receipt with the exchange.
func TestLiveLostAnswerIsRetried(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	p.set(func(p *testProvider) { p.liveLose = 1 })
	r := n.newRequester("", nil)
	part, key := liveExchange(t, n, r, 5*time.Minute, 3, 40)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.Amount != 2*testLivePrice {
		t.Fatalf("part %v billing %d, want answered billing %d (%v)", part.Status, part.Amount, 2*testLivePrice, part.Error)
	}
	p.mu.Lock()
	evaluates, queries := p.evaluates, p.liveQueries
	p.mu.Unlock()
	if evaluates != 1 || len(queries) != 2 || queries[0] != queries[1] {
		t.Fatalf("%d POPRF steps and live queries %x, want one step and the same query twice", evaluates, queries)
	}
	wantLiveReceipt(t, n, r, key)
}

// wantLiveReceipt fails unless r keeps, for the live exchange key, the
// query it signed with the provider's receipt, both verifying under the
// keys the ledger holds for the period.
func wantLiveReceipt(t *testing.T, n *network, r *Requester, key accounting.EntryKey) {
	t.Helper()
	step, err := r.LiveStep(key.Period, key.Responder, key.Sequence)
	must(t, err)
	tr, err := r.store.transcript(key.Period, key.Responder, key.Sequence)
	must(t, err)
	d, err := tr.Digests()
	must(t, err)
	reqKeys, respKeys := partyKeys(t, n)
	if err := step.VerifyAnswer(reqKeys, respKeys, d.ResponseDigest); err != nil {
		t.Fatalf("stored live step: %v", err)
	}
}

// TestAdversaryProviderWithholdsLiveAnswer: a provider answers and bills
// the POPRF step of a live exchange and then never answers the
// homomorphic query. The node keeps its signed query; the auditor asks the
// provider for its receipt, gets none, upholds the dispute, and the charge
// is reversed on the ledger.
func TestAdversaryProviderWithholdsLiveAnswer(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	n.providers[0].set(func(p *testProvider) { p.liveWithhold = 1 << 30 })
	r := n.newRequester("", nil)
	part, key := liveExchange(t, n, r, 5*time.Minute, 3)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE || part.Amount != testLivePrice {
		t.Fatalf("part %v billing %d, want unavailable and billed %d", part.Status, part.Amount, testLivePrice)
	}
	ctx := context.Background()
	if e, err := n.regulator.Entry(ctx, key); err != nil || e.Reversal != nil {
		t.Fatalf("entry %v (%v), want a standing charge", e, err)
	}
	step, err := r.LiveStep(key.Period, key.Responder, key.Sequence)
	must(t, err)
	if step.Answered() {
		t.Fatal("a receipt stored for a withheld answer")
	}
	out, err := liveDisputes(t, n).LiveUnanswered(ctx, key, step, "live answer withheld")
	must(t, err)
	if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || !out.Reversed || !strings.Contains(out.Verdict.Reason, "no signed answer") {
		t.Fatalf("verdict %v %q reversed %v, want upheld and reversed", out.Verdict.Verdict, out.Verdict.Reason, out.Reversed)
	}
	e, err := n.regulator.Entry(ctx, key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the withheld live step's charge is not reversed on the ledger")
	}
}

// TestAdversaryRequesterDisputesAnsweredLiveStep: a requester that got
// its homomorphic answer claims it never did, once with its own query
// stripped of the receipt and once with another query it signs for the
// exchange afterwards. The provider shows its receipt for the query it
// answered: both claims are rejected and the charge stands.
func TestAdversaryRequesterDisputesAnsweredLiveStep(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	r := n.newRequester("", nil)
	part, key := liveExchange(t, n, r, 5*time.Minute, 3)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("part %v (%v), want answered", part.Status, part.Error)
	}
	got, err := r.LiveStep(key.Period, key.Responder, key.Sequence)
	must(t, err)
	tr, err := r.store.transcript(key.Period, key.Responder, key.Sequence)
	must(t, err)
	d, err := tr.Digests()
	must(t, err)
	other := &audit.LiveStep{Params: got.Params, Query: got.Query}
	other.Query[0] ^= 1
	other.RequesterSignature, err = transcript.SignRequest(n.requester.sign, other.QueryDigest(d.ResponseDigest))
	must(t, err)
	disputes := liveDisputes(t, n)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		claim  *audit.LiveStep
		reason string
	}{
		{"its own query", &audit.LiveStep{Params: got.Params, Query: got.Query, RequesterSignature: got.RequesterSignature}, "signed receipt for the requester's query"},
		{"another query", other, "for another query the requester signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := disputes.LiveUnanswered(ctx, key, tc.claim, "never answered")
			must(t, err)
			if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || out.Reversed || !strings.Contains(out.Verdict.Reason, tc.reason) {
				t.Fatalf("verdict %v %q, want rejected with %q", out.Verdict.Verdict, out.Verdict.Reason, tc.reason)
			}
			if out.LiveStep == nil || out.LiveStep.Query != got.Query || !out.LiveStep.Answered() {
				t.Fatalf("the auditor returned %+v, want the provider's receipt for the answered query", out.LiveStep)
			}
		})
	}
	e, err := n.regulator.Entry(ctx, key)
	must(t, err)
	if e.Reversal != nil {
		t.Fatal("an answered live step's charge was reversed")
	}
}

// TestLiveLateAnswer: the homomorphic answer of a live exchange comes only
// after the query's deadline. The part is reported UNAVAILABLE (billed:
// the POPRF step was answered) while the node keeps sending the same
// query; when the provider answers, the stored record shows the hits,
// says the part changed late, and bills nothing more.
func TestLiveLateAnswer(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	p := n.providers[0]
	hang := make(chan struct{})
	p.set(func(p *testProvider) { p.liveHang = hang })
	r := n.newRequester("", nil)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 40),
		Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE, Deadline: durationpb.New(5 * time.Second)})
	id := events[0].GetAccepted().GetQueryId()
	part := providerResult(t, events[len(events)-1].GetResult(), p.msp)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE || part.Amount != 2*testLivePrice ||
		!strings.Contains(part.Error.GetMessage(), "late answer") {
		t.Fatalf("part %v billing %d (%v), want unavailable, billed %d, fetched late", part.Status, part.Amount, part.Error, 2*testLivePrice)
	}
	p.set(func(p *testProvider) { p.liveHang = nil })
	close(hang)
	waitLate(t, r, "the late live answer", func() bool {
		_, pr := storedPart(t, r, id, p.msp)
		return pr.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
	})
	rec, got := storedPart(t, r, id, p.msp)
	if got.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("late part %v, want answered", got)
	}
	if !got.Late || got.LateChange.GetSource() != riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER || got.Amount != 2*testLivePrice ||
		got.Mode != riskmeshv1.QueryMode_QUERY_MODE_LIVE {
		t.Fatalf("late part %v, want a late live answer billing %d", got, 2*testLivePrice)
	}
	if len(got.Hits) != 1 || got.Hits[0].Index != 0 || !slices.Equal(hitsOf(rec.Result)[0], []string{p.msp}) {
		t.Fatalf("late hits %v, want item 0 only", got.Hits)
	}
	p.mu.Lock()
	evaluates := p.evaluates
	p.mu.Unlock()
	if evaluates != 1 {
		t.Fatalf("%d POPRF steps, want 1", evaluates)
	}
}

// TestAdversaryWithheldLiveAnswerIsDisputedByReconciliation: the node
// disputes a withheld homomorphic answer by itself, as the daemon wires
// it: reconciliation finds the billed live exchange matched but its query
// without a receipt, waits until no exchange can bring the answer and
// NonDeliveryAfter more, and hands the signed query to dispute.Auto; the
// auditor upholds and the charge is reversed. Later passes, across a
// restart, file nothing more.
func TestAdversaryWithheldLiveAnswerIsDisputedByReconciliation(t *testing.T) {
	ctx := context.Background()
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeCatalog | provider.ServeLive}, span(0, 10))
	r, auto, clk, reopen := n.reconcileRequester(t)
	n.providers[0].set(func(p *testProvider) { p.liveWithhold = 1 << 30 })
	part, key := liveExchange(t, n, r, 5*time.Minute, 3)
	if part.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE || part.Amount != testLivePrice {
		t.Fatalf("part %v billing %d, want unavailable and billed %d", part.Status, part.Amount, testLivePrice)
	}
	must(t, r.Reconcile(ctx))
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes queued while an exchange could still bring the answer", pending)
	}
	if _, _, ok := auto.Status(key); ok {
		t.Fatal("the live step was disputed before the wait")
	}
	clk.Advance(time.Hour) // past every exchange and NonDeliveryAfter
	must(t, r.Reconcile(ctx))
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes pending after filing", pending)
	}
	state, reason, ok := auto.Status(key)
	if !ok || state != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED || !strings.Contains(reason, "no signed answer") {
		t.Fatalf("live dispute %v (%q), want REVERSED because the provider showed no receipt", state, reason)
	}
	e, err := n.regulator.Entry(ctx, key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the withheld live step's charge is not reversed on the ledger")
	}
	r, auto = reopen()
	clk.Advance(time.Hour)
	must(t, r.Reconcile(ctx))
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("a pass after a restart queued %d disputes", pending)
	}
	rep, err := r.ReconcileReport(n.period)
	must(t, err)
	if rep.Reversed != 1 || rep.Disputed != 0 {
		t.Fatalf("report %v, want the live entry reversed", rep)
	}
}

// TestLiveConcurrentQueriesShareKey: two live queries to one provider at
// once encrypt under the node's one key pair for the provider and period,
// and each opens its own answer.
func TestLiveConcurrentQueriesShareKey(t *testing.T) {
	n := buildServing(t, 1_000_000, 0, map[int]provider.ServeMode{1: provider.ServeLive}, span(0, 10))
	r := n.newRequester("", nil)
	idsOf := [][]int{{3, 40}, {41, 7}}
	results := make([]*riskmeshv1.QueryResult, len(idsOf))
	done := make(chan struct{})
	for i, ids := range idsOf {
		go func() {
			defer func() { done <- struct{}{} }()
			// Not the query helper: t.Fatal must not run off the test's
			// goroutine.
			err := r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(ids...),
				Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE, Deadline: durationpb.New(5 * time.Minute)},
				func(ev *riskmeshv1.QueryEvent) error {
					if res := ev.GetResult(); res != nil {
						results[i] = res
					}
					return nil
				})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	for range idsOf {
		<-done
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, want := range []int{0, 1} { // the listed identifier's index in each query
		if got := hitsOf(results[i]); len(got) != 1 || !slices.Equal(got[want], []string{n.providers[0].msp}) {
			t.Errorf("query %d: hits %v, want item %d only", i, got, want)
		}
	}
	r.heKeys.mu.Lock()
	keys := len(r.heKeys.m)
	r.heKeys.mu.Unlock()
	if keys != 1 {
		t.Fatalf("%d key pairs for one provider and period, want 1", keys)
	}
}
