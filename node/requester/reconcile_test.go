package requester

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/testclock"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// kill stops p's listener as a crash would, keeping its node and store;
// restart listens again on the same address.
func (p *testProvider) kill(t testing.TB) string {
	t.Helper()
	addr := p.srv.Addr().String()
	must(t, p.srv.Close())
	return addr
}

func (n *network) restart(p *testProvider, addr string) {
	t := n.t
	t.Helper()
	srv, err := peer.Listen(context.Background(), addr, peer.Config{Certificate: p.cert, Authorizer: n.dir, Handler: p.handle})
	must(t, err)
	p.srv = srv
	t.Cleanup(func() { srv.Close() })
}

// A provider killed before a query is UNAVAILABLE and unbilled, and once
// it restarts it is never sent the request: no stream could be opened, so
// the request cannot have reached it, and no late fetch starts.
func TestRequestNeverSentIsNeverSentLater(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", func(c *setup) { c.PhaseTimeout = 200 * time.Millisecond })
	ready(t, r)
	p := n.providers[0]
	addr := p.kill(t)
	// The catalog downloads left a connection to P1 in the pool. Until
	// P1's close reaches it, a request could still be written on it and
	// would rightly count as possibly sent (a flake under load). Dropping
	// it makes the query dial the dead address: the case under test.
	r.cfg.Conns.(*outbound.Conns).Close()

	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2),
		Deadline: durationpb.New(time.Second)})
	res := events[len(events)-1].GetResult()
	pr := providerResult(t, res, "P1MSP")
	if pr.GetStatus() != unavailable || pr.Amount != 0 || strings.HasSuffix(pr.Error.GetMessage(), lateNote) {
		t.Fatalf("part %v, want UNAVAILABLE, unbilled, not asked again", pr)
	}
	if r.late.len() != 0 {
		t.Fatalf("%d late requests pending for a request never sent", r.late.len())
	}

	n.restart(p, addr)
	// A query after the restart reaches it: the request the killed node
	// never saw is still not among what it receives. On a loaded machine
	// the first dial to the restarted node can outlast the 200 ms phase;
	// such a query sent nothing and is asked again (an attempt that reached
	// P1 would show in its count below).
	for attempt := 0; attempt < 5; attempt++ {
		after := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3)})
		if pr = providerResult(t, after[len(after)-1].GetResult(), "P1MSP"); pr.GetStatus() != unavailable || pr.Amount != 0 {
			break
		}
	}
	if pr.GetStatus() != answered {
		t.Fatalf("after the restart P1 is %v", pr)
	}
	if evals, seqs := p.stats(); evals != 1 || len(seqs) != 1 {
		t.Fatalf("P1 received %d evaluates and answered %v, want only the later query's", evals, seqs)
	}
	if e := ledgerEntries(t, n); len(e) != 1 || e[0].Amount != testPrice {
		t.Fatalf("ledger entries %v, want only the later query's", e)
	}
}

// flushOutboxes records every provider's journalled answers on the ledger.
func (n *network) flushOutboxes() {
	n.t.Helper()
	for _, p := range n.providers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		must(n.t, p.node.Outbox().Flush(ctx))
		cancel()
	}
}

// reconcileRequester is a requester that reconciles on demand against the
// network's ledger, on the clock it returns, with disputes filed through an
// auditor; reopen restarts it on the same node.db.
func (n *network) reconcileRequester(t *testing.T, tweaks ...func(*Config)) (*Requester, *dispute.Auto, *testclock.Clock, func() (*Requester, *dispute.Auto)) {
	t.Helper()
	addr, _ := n.startAuditor(t)
	n.refresh() // the providers admit the auditor
	clk, dir := testclock.New(time.Now()), t.TempDir()
	r, auto := n.openReconciler(t, dir, addr, clk, tweaks...)
	reopen := func() (*Requester, *dispute.Auto) {
		must(t, r.Close())
		must(t, r.cfg.DB.Close())
		return n.openReconciler(t, dir, addr, clk, tweaks...)
	}
	return r, auto, clk, reopen
}

// openReconciler opens the requester of reconcileRequester in dir.
func (n *network) openReconciler(t *testing.T, dir, addr string, clk *testclock.Clock, tweaks ...func(*Config)) (*Requester, *dispute.Auto) {
	t.Helper()
	var auto *dispute.Auto
	r := n.newRequester(dir, func(c *setup) {
		c.Now = clk.Now
		c.Bills = n.requester.ledger
		c.ReconcileInterval = -1 // passes run when the test says
		c.LateAnswerWindow = -1  // a lost answer is left to reconciliation
		c.Disputed = func(tr *transcript.Transcript, reason string) { auto.Disputed(tr, reason) }
		c.NonDelivered = func(k accounting.EntryKey, reason string) { auto.NonDelivered(k, reason) }
		c.LiveUnanswered = func(k accounting.EntryKey, s *audit.LiveStep) { auto.LiveUnanswered(k, s) }
		c.DisputeStatus = func(k accounting.EntryKey) (riskmeshv1.DisputeState, string, bool) { return auto.Status(k) }
		c.ProducedAnswer = func(k accounting.EntryKey) (*transcript.Transcript, bool) { return auto.Produced(k) }
		for _, tweak := range tweaks {
			tweak(&c.Config)
		}
	})
	conn, err := dispute.Dial(context.Background(), n.requester.ledger, accounting.DefaultRegulator, addr, n.requester.cert)
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	client, err := dispute.New(dispute.Config{Ledger: n.requester.ledger, Auditor: riskmeshv1.NewAuditorClient(conn), AuditorMSP: accounting.DefaultRegulator})
	must(t, err)
	auto, err = dispute.NewAuto(dispute.AutoConfig{Client: client, DB: r.cfg.DB, Now: clk.Now})
	must(t, err)
	n.auto = auto
	ready(t, r)
	return r, auto
}

// reconcileOverAnHour runs a pass, then another an hour later: past every
// exchange that could still bring an answer and past NonDeliveryAfter.
func reconcileOverAnHour(t *testing.T, r *Requester, clk *testclock.Clock) {
	t.Helper()
	must(t, r.Reconcile(context.Background()))
	clk.Advance(time.Hour)
	must(t, r.Reconcile(context.Background()))
}

// reconciled returns the reconciliation state of responder's entries in
// the report.
func reconciled(rep *riskmeshv1.ReconcileReport, responder string) []riskmeshv1.ReconcileState {
	var out []riskmeshv1.ReconcileState
	for _, e := range rep.Entries {
		if e.Key.GetResponder() == responder {
			out = append(out, e.State)
		}
	}
	return out
}

// A dishonest provider answers, records the entry, and tells the
// requester it refused: the requester reports REFUSED and 0 tokens while
// the ledger bills it. Reconciliation finds the bill, the provider will
// not redeliver the answer (to the requester or the auditor), the node
// files a non-delivery dispute by itself, the auditor upholds it and the
// charge is reversed. The honest provider's entry is matched.
func TestAdversaryProviderBillsUndeliveredAnswer(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	r, auto, clk, reopen := n.reconcileRequester(t)
	bad, honest := n.providers[0], n.providers[1]
	bad.set(func(p *testProvider) { p.withhold, p.hide = 1, []string{requesterMSP, accounting.DefaultRegulator} })

	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2)})
	res := events[len(events)-1].GetResult()
	if pr := providerResult(t, res, bad.msp); pr.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED || pr.Amount != 0 {
		t.Fatalf("the dishonest provider's part is %v, want REFUSED and unbilled as it reported", pr)
	}
	n.flushOutboxes()
	var billed *accounting.RecordedEntry
	for _, e := range ledgerEntries(t, n) {
		if e.Key.Responder == bad.msp {
			billed = &e
		}
	}
	if billed == nil || billed.Amount != 2*testPrice {
		t.Fatalf("the dishonest provider did not bill the refused request: %v", billed)
	}

	must(t, r.Reconcile(ctx))
	rep, err := r.ReconcileReport(0)
	must(t, err)
	if got := reconciled(rep, bad.msp); len(got) != 1 || got[0] != riskmeshv1.ReconcileState_RECONCILE_STATE_PENDING {
		t.Fatalf("the undelivered bill is %v, want PENDING while an exchange could still bring it", got)
	}
	if got := reconciled(rep, honest.msp); len(got) != 1 || got[0] != riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED {
		t.Fatalf("the honest bill is %v, want MATCHED", got)
	}

	clk.Advance(time.Hour) // past every exchange and NonDeliveryAfter
	must(t, r.Reconcile(ctx))
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes pending after filing", pending)
	}
	state, reason, ok := auto.Status(billed.Key)
	if !ok || state != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED || !strings.Contains(reason, "did not produce the billed response") {
		t.Fatalf("non-delivery dispute %v (%q), want REVERSED because the provider produced nothing", state, reason)
	}
	e, err := n.regulator.Entry(ctx, billed.Key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the undelivered bill is not reversed on the ledger")
	}

	must(t, r.Reconcile(ctx))
	rep, err = r.ReconcileReport(n.period)
	must(t, err)
	if rep.Matched != 1 || rep.Reversed != 1 || rep.ReversedAmount != 2*testPrice || rep.Recovered != 0 || rep.Pending != 0 || rep.LastPass == nil {
		t.Fatalf("report %v, want one matched and one reversed", rep)
	}
	// After a restart, another pass files nothing more.
	r, auto = reopen()
	clk.Advance(time.Hour)
	must(t, r.Reconcile(ctx))
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("a pass after a restart queued %d disputes", pending)
	}
	if again, err := r.ReconcileReport(n.period); err != nil || again.Reversed != 1 || again.Matched != 1 || again.Disputed != 0 {
		t.Fatalf("report after a restart %v, %v", again, err)
	}
}

// A provider that billed an answer the requester never got, and stores it
// honestly, redelivers it: reconciliation verifies it, keeps it, counts it
// in the spend and in the query that sent it, and files nothing.
func TestLostAnswerIsRecoveredByReconciliation(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10))
	r, auto, clk, reopen := n.reconcileRequester(t)
	p := n.providers[0]
	p.set(func(p *testProvider) { p.lose = 1 })

	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3),
		Deadline: durationpb.New(time.Second)})
	id := events[0].GetAccepted().QueryId
	if pr := providerResult(t, events[len(events)-1].GetResult(), p.msp); pr.GetStatus() != unavailable || pr.Amount != 0 {
		t.Fatalf("part %v, want UNAVAILABLE and unbilled at the deadline", pr)
	}
	n.flushOutboxes()
	reconcileOverAnHour(t, r, clk)

	rep, err := r.ReconcileReport(0)
	must(t, err)
	if rep.Recovered != 1 || rep.Disputed != 0 || rep.Pending != 0 || rep.Billed != 3*testPrice {
		t.Fatalf("report %v, want the bill recovered", rep)
	}
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes filed for a recovered answer", pending)
	}
	rec, err := r.GetQuery(ctx, id)
	must(t, err)
	pr := providerResult(t, rec.Result, p.msp)
	if c := pr.GetLateChange(); pr.Amount != 3*testPrice || c.GetSource() != riskmeshv1.LateSource_LATE_SOURCE_RECONCILED ||
		c.GetPreviousStatus() != unavailable || c.GetPreviousAmount() != 0 || rec.Result.Amount != 3*testPrice {
		t.Fatalf("stored part %v, want the recovered bill with its late change", pr)
	}
	_, seqs := p.stats()
	tr, err := r.Transcript(n.period, p.msp, seqs[0])
	must(t, err)
	if _, err := tr.Verify([][]byte{n.requester.signPub}, [][]byte{p.signPub}); err != nil {
		t.Fatalf("recovered transcript: %v", err)
	}
	bal, err := r.Balance(ctx)
	must(t, err)
	if bal.UnsettledSpend != 3*testPrice {
		t.Fatalf("unsettled spend %d, want the recovered bill %d", bal.UnsettledSpend, 3*testPrice)
	}
	// A restart keeps the state: nothing is recovered or counted twice.
	r, _ = reopen()
	clk.Advance(time.Hour)
	must(t, r.Reconcile(ctx))
	if bal, _ := r.Balance(ctx); bal.UnsettledSpend != 3*testPrice {
		t.Fatalf("a pass after a restart changed the spend to %d", bal.UnsettledSpend)
	}
	if again, err := r.ReconcileReport(0); err != nil || again.Recovered != 1 || again.Pending != 0 {
		t.Fatalf("report after a restart %v, %v", again, err)
	}
}

// Only an exchange's requester (or an auditor) may have its answer
// redelivered: another member asking for it is refused.
func TestAdversaryRedeliverToAnotherMember(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)})
	victim, thief := n.providers[0], n.providers[1]
	_, seqs := victim.stats()
	c, err := peer.Dial(ctx, victim.srv.Addr().String(), peer.Config{Certificate: thief.cert, Authorizer: n.dir})
	must(t, err)
	defer c.Close()
	key := accounting.EntryKey{Period: n.period, Requester: requesterMSP, Responder: victim.msp, Sequence: seqs[0]}
	_, err = c.Do(ctx, provider.RedeliverRequest(key))
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER {
		t.Fatalf("redeliver to another member: %v, want UNKNOWN_PEER", err)
	}
}

// A provider bills an answer it reported refused and hides it from the
// requester, but produces it to the auditor: the non-delivery dispute is
// rejected, the charge stands, and the requester's node recovers the
// answer the auditor returned, so its books match the bill.
func TestAdversaryProviderHidesAnswerOnlyFromRequester(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10))
	r, auto, clk, _ := n.reconcileRequester(t)
	p := n.providers[0]
	p.set(func(p *testProvider) { p.withhold, p.hide = 1, []string{requesterMSP} })
	query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2)})
	n.flushOutboxes()
	reconcileOverAnHour(t, r, clk) // redelivery refused: non-delivery filed
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes pending", pending)
	}
	e := ledgerEntries(t, n)
	if len(e) != 1 {
		t.Fatalf("ledger entries %v, want one", e)
	}
	if state, reason, _ := auto.Status(e[0].Key); state != riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED ||
		!strings.Contains(reason, "produced the billed response") {
		t.Fatalf("dispute %v (%q), want rejected: the provider produced the answer", state, reason)
	}
	must(t, r.Reconcile(ctx))
	rep, err := r.ReconcileReport(0)
	must(t, err)
	if rep.Recovered != 1 || rep.Disputed != 0 || rep.Reversed != 0 {
		t.Fatalf("report %v, want the produced answer recovered", rep)
	}
	if bal, _ := r.Balance(ctx); bal.UnsettledSpend != 2*testPrice {
		t.Fatalf("unsettled spend %d, want the standing bill %d", bal.UnsettledSpend, 2*testPrice)
	}
}

// countingCommitter counts what goes through a requester's committer.
type countingCommitter struct {
	committer
	updates, views atomic.Int64
}

func (c *countingCommitter) Update(fn func(*bolt.Tx) error) error {
	c.updates.Add(1)
	return c.committer.Update(fn)
}

func (c *countingCommitter) View(fn func(*bolt.Tx) error) error {
	c.views.Add(1)
	return c.committer.View(fn)
}

// A reconciliation pass reads and writes its entries a page at a time:
// over the bills of 12 queries it goes through the requester's committer
// (whose every read brings the log's fold forward and whose every write
// is a commit) a few times, not two or three times per entry, and every
// bill matches.
func TestReconcilePassWritesAPageAtOnce(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r, _, _, _ := n.reconcileRequester(t)
	c := &countingCommitter{committer: r.store.commits}
	r.store.commits = c // before any query: nothing else runs in r yet
	for i := range 12 {
		query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(i, i+1)})
	}
	n.flushOutboxes()
	updates, views := c.updates.Load(), c.views.Load()
	must(t, r.Reconcile(context.Background()))
	rep, err := r.ReconcileReport(0)
	must(t, err)
	entries := len(rep.Entries)
	if entries < 12 || int(rep.Matched) != entries {
		t.Fatalf("report %v, want every one of at least 12 bills matched", rep)
	}
	u, v := c.updates.Load()-updates, c.views.Load()-views
	t.Logf("%d entries: %d writes and %d reads through the committer", entries, u, v)
	if u+v >= int64(entries) {
		t.Errorf("the pass over %d entries made %d writes and %d reads through the committer, want fewer than one per entry", entries, u, v)
	}
}
