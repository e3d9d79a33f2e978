package requester

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// reconList is a reconciliation list of phones [lo, hi).
type reconList struct{ lo, hi int }

func (l reconList) Entries(_ context.Context, code uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		for i := l.lo; i < l.hi; i++ {
			e := catalogpsi.Entry{ID: ident.ID{Type: ident.Phone, Value: fmt.Sprintf("+41%09d", i)}, Label: catalog.Label{Category: code}}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// A reconciliation billed to this requester is matched against the
// transcript its node keeps, never taken for a missing catalog answer: the
// responder (the network's provider, billing through its real outbox)
// records the entry of a reconciliation both ran, and the requester's pass
// finds it MATCHED at once. A dishonest responder that bills a
// reconciliation this node never ran (the header signed with the
// requester's key, as a node that lost its files or a stolen key would
// leave it) is PENDING while the transcript could still be saved, then
// DISPUTED; neither entry is redelivered or filed as a non-delivery.
func TestAdversaryReconciliationBillMatchedAgainstTranscript(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10))
	p := n.providers[0]
	reqDir := t.TempDir()
	r, auto, clk, reopen := n.reconcileRequester(t, func(c *Config) {
		c.ReconTranscript = func(k accounting.EntryKey) (*transcript.ReconTranscript, error) {
			return recon.ReadTranscript(reqDir, k.Requester, k.Responder, k.Period, k.Sequence)
		}
	})

	keys := func(ctx context.Context, msp string, period uint64) ([][]byte, error) {
		inst, err := n.regulator.Institution(ctx, msp)
		if err != nil {
			return nil, err
		}
		return inst.SigningKeysIn(period), nil
	}
	resp, err := recon.New(recon.Config{MSPID: p.msp, Sign: p.sign, Keys: keys, Dir: t.TempDir(),
		Lists:  []recon.List{{Name: "loans", Category: testCategory, Code: 1, Source: reconList{100, 400}}},
		Grants: []recon.Grant{{Requester: requesterMSP, List: "loans", Protocols: []transcript.Protocol{transcript.ProtocolECDHBothLearn}}},
		Bill:   recon.JournalBill(p.node.Outbox(), p.ledger.Period)})
	must(t, err)
	req, err := recon.New(recon.Config{MSPID: requesterMSP, Sign: n.requester.sign, Keys: keys, Dir: reqDir,
		Lists: []recon.List{{Name: "mine", Category: testCategory, Code: 1, Source: reconList{0, 200}}}})
	must(t, err)
	send := func(ctx context.Context, m *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		out := resp.Handle(ctx, peer.Identity{MSPID: requesterMSP}, m)
		if e := out.GetError(); e != nil {
			return nil, fmt.Errorf("refused: %s", e.GetMessage())
		}
		return out, nil
	}
	res, err := req.Reconcile(ctx, send, recon.Request{Responder: p.msp, List: "mine", PeerList: "loans",
		Protocol: transcript.ProtocolECDHBothLearn, Period: n.period, Sequence: recon.SequenceBase})
	must(t, err)
	if res.Matches != 100 {
		t.Fatalf("the reconciliation matched %d rows, want the 100 planted", res.Matches)
	}
	ran := accounting.EntryKey{Period: n.period, Requester: requesterMSP, Responder: p.msp, Sequence: recon.SequenceBase}

	// The reconciliation this node never ran: a header its key signed, of
	// a sequence its reconciliation directory has no transcript of.
	h := res.Header
	h.Sequence++
	d, err := h.Digest()
	must(t, err)
	reqSig, err := transcript.SignRequest(n.requester.sign, d)
	must(t, err)
	respSig, err := transcript.SignResponse(p.sign, d)
	must(t, err)
	forged, err := accounting.NewReconEntry(&h, reqSig, respSig, int64(h.RequesterSize+h.ResponderSize)*testReconPrice)
	must(t, err)
	outs, err := p.ledger.Record(ctx, []accounting.Entry{forged})
	must(t, err)
	if outs[0].Status != accounting.OutcomeRecorded {
		t.Fatalf("the forged reconciliation entry: %+v", outs[0])
	}
	never := outs[0].Key

	n.flushOutboxes()
	billed := map[accounting.EntryKey]int64{}
	for _, e := range ledgerEntries(t, n) {
		billed[e.Key] = e.Amount
	}
	if billed[ran] != 500*testReconPrice || len(billed) != 2 {
		t.Fatalf("the ledger bills %v, want the reconciliation run (%d: 200 + 300 items) and the forged one", billed, 500*testReconPrice)
	}

	stateOf := func(r *Requester) map[uint64]riskmeshv1.ReconcileState {
		rep, err := r.ReconcileReport(n.period)
		must(t, err)
		out := map[uint64]riskmeshv1.ReconcileState{}
		for _, e := range rep.Entries {
			out[e.Key.GetSequence()] = e.State
		}
		return out
	}
	must(t, r.Reconcile(ctx))
	if got := stateOf(r); got[ran.Sequence] != stateMatched || got[never.Sequence] != statePending {
		t.Fatalf("after a first pass: %v, want the run reconciliation MATCHED and the other PENDING", got)
	}
	clk.Advance(time.Hour) // past every wait
	must(t, r.Reconcile(ctx))
	if got := stateOf(r); got[ran.Sequence] != stateMatched || got[never.Sequence] != stateDisputed {
		t.Fatalf("an hour later: %v, want MATCHED and DISPUTED", got)
	}
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes queued", pending)
	}
	for _, k := range []accounting.EntryKey{ran, never} {
		if state, _, ok := auto.Status(k); ok {
			t.Fatalf("reconciliation %d was filed as a catalog dispute (%v)", k.Sequence, state)
		}
	}
	// A restart keeps both.
	r, _ = reopen()
	clk.Advance(time.Hour)
	must(t, r.Reconcile(ctx))
	if got := stateOf(r); got[ran.Sequence] != stateMatched || got[never.Sequence] != stateDisputed {
		t.Fatalf("after a restart: %v", got)
	}
}
