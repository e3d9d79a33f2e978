package requester

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/testclock"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/recon/recontest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// reconBilling is the network's provider answering reconciliations and
// billing them through its real outbox, and a requester node that
// reconciles with it (200 rows against 300, 100 shared), whose bill
// reconciliation reads its transcripts and files its disputes with the
// network's auditor.
type reconBilling struct {
	n         *network
	p         *testProvider
	r         *Requester
	auto      *dispute.Auto
	clk       *testclock.Clock
	reopen    func() (*Requester, *dispute.Auto)
	req, resp *recon.Node
	reqDir    string
	// tamper, if set, changes the responder's answers on their way.
	tamper func(req *riskmeshv1.PeerRequest, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse
}

func newReconBilling(t *testing.T) *reconBilling {
	t.Helper()
	b := &reconBilling{n: newNetwork(t, 1_000_000, span(0, 10)), reqDir: t.TempDir()}
	b.p = b.n.providers[0]
	b.r, b.auto, b.clk, b.reopen = b.n.reconcileRequester(t, func(c *Config) {
		c.ReconTranscript = func(k accounting.EntryKey) (*transcript.ReconTranscript, error) {
			return recon.ReadTranscript(b.reqDir, k.Requester, k.Responder, k.Period, k.Sequence)
		}
		c.ReconDispute = func(ctx context.Context, k accounting.EntryKey, claim string) (string, error) {
			return b.n.auto.ReconFiler(b.reqDir)(ctx, k, claim)
		}
	})
	keys := func(ctx context.Context, msp string, period uint64) ([][]byte, error) {
		inst, err := b.n.regulator.Institution(ctx, msp)
		if err != nil {
			return nil, err
		}
		return inst.SigningKeysIn(period), nil
	}
	// Each side keeps its reconciliation state in its own node.db.
	nodeDB := func() *bolt.DB {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
		must(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	var err error
	b.resp, err = recon.New(recon.Config{MSPID: b.p.msp, Sign: b.p.sign, Keys: keys, Dir: t.TempDir(), DB: nodeDB(),
		Lists:  []recon.List{{Name: "loans", Category: testCategory, Code: 1, Source: recontest.Phones{Lo: 100, Hi: 400}}},
		Grants: []recon.Grant{{Requester: requesterMSP, List: "loans", Protocols: []transcript.Protocol{transcript.ProtocolECDHBothLearn}}},
		Bill:   recon.JournalBill(b.p.node.Outbox(), b.p.ledger.Period)})
	must(t, err)
	b.req, err = recon.New(recon.Config{MSPID: requesterMSP, Sign: b.n.requester.sign, Keys: keys, Dir: b.reqDir, DB: nodeDB(),
		Lists: []recon.List{{Name: "mine", Category: testCategory, Code: 1, Source: recontest.Phones{Lo: 0, Hi: 200}}}, ChunkSize: 64})
	must(t, err)
	return b
}

// reconcile runs reconciliation seq, the requester reaching the
// responder's Handle in process.
func (b *reconBilling) reconcile(seq uint64) (*recon.Result, error) {
	send := func(ctx context.Context, m *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		out := b.resp.Handle(ctx, peer.Identity{MSPID: requesterMSP}, m)
		if b.tamper != nil {
			out = b.tamper(m, out)
		}
		if e := out.GetError(); e != nil {
			return nil, fmt.Errorf("refused: %s", e.GetMessage())
		}
		return out, nil
	}
	return b.req.Reconcile(context.Background(), send, recon.Request{Responder: b.p.msp, List: "mine", PeerList: "loans",
		Protocol: transcript.ProtocolECDHBothLearn, Period: b.n.period, Sequence: seq})
}

// billAnyway records, as the responder, the entry of h signed by both
// parties, whatever became of the reconciliation.
func (b *reconBilling) billAnyway(t *testing.T, h *transcript.ReconHeader, reqSig, respSig []byte) accounting.EntryKey {
	t.Helper()
	e, err := accounting.NewReconEntry(h, reqSig, respSig, int64(h.RequesterSize+h.ResponderSize)*testReconPrice)
	must(t, err)
	outs, err := b.p.ledger.Record(context.Background(), []accounting.Entry{e})
	must(t, err)
	if outs[0].Status != accounting.OutcomeRecorded {
		t.Fatalf("the responder's reconciliation entry: %+v", outs[0])
	}
	return outs[0].Key
}

// states returns the reconciliation state of every entry of the period,
// by sequence number.
func (b *reconBilling) states(t *testing.T, r *Requester) map[uint64]riskmeshv1.ReconcileState {
	t.Helper()
	rep, err := r.ReconcileReport(b.n.period)
	must(t, err)
	out := map[uint64]riskmeshv1.ReconcileState{}
	for _, e := range rep.Entries {
		out[e.Key.GetSequence()] = e.State
	}
	return out
}

// A reconciliation billed to this requester is matched against the
// transcript its node keeps, never taken for a missing catalog answer: the
// responder (the network's provider, billing through its real outbox)
// records the entry of a reconciliation both ran, and the requester's pass
// finds it MATCHED at once. A dishonest responder that bills a
// reconciliation this node never ran (the header signed with the
// requester's key, as a node that lost its files or a stolen key would
// leave it) is PENDING while the transcript could still be saved, then
// DISPUTED, with nothing an auditor could decide kept; neither entry is
// redelivered or filed as a non-delivery.
func TestAdversaryReconciliationBillMatchedAgainstTranscript(t *testing.T) {
	ctx := context.Background()
	b := newReconBilling(t)
	n, p := b.n, b.p
	res, err := b.reconcile(recon.SequenceBase)
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
	never := b.billAnyway(t, &h, reqSig, respSig)

	n.flushOutboxes()
	billed := map[accounting.EntryKey]int64{}
	for _, e := range ledgerEntries(t, n) {
		billed[e.Key] = e.Amount
	}
	if billed[ran] != 500*testReconPrice || len(billed) != 2 {
		t.Fatalf("the ledger bills %v, want the reconciliation run (%d: 200 + 300 items) and the forged one", billed, 500*testReconPrice)
	}

	must(t, b.r.Reconcile(ctx))
	if got := b.states(t, b.r); got[ran.Sequence] != stateMatched || got[never.Sequence] != statePending {
		t.Fatalf("after a first pass: %v, want the run reconciliation MATCHED and the other PENDING", got)
	}
	b.clk.Advance(time.Hour) // past every wait
	must(t, b.r.Reconcile(ctx))
	if got := b.states(t, b.r); got[ran.Sequence] != stateMatched || got[never.Sequence] != stateDisputed {
		t.Fatalf("an hour later: %v, want MATCHED and DISPUTED", got)
	}
	if pending := b.auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes queued", pending)
	}
	for _, k := range []accounting.EntryKey{ran, never} {
		if state, _, ok := b.auto.Status(k); ok {
			t.Fatalf("reconciliation %d was filed as a catalog dispute (%v)", k.Sequence, state)
		}
	}
	// A restart keeps both.
	r, _ := b.reopen()
	b.clk.Advance(time.Hour)
	must(t, r.Reconcile(ctx))
	if got := b.states(t, r); got[ran.Sequence] != stateMatched || got[never.Sequence] != stateDisputed {
		t.Fatalf("after a restart: %v", got)
	}
}

// A dishonest responder signs a wrong reply (two points swapped) and bills
// the reconciliation its requester refused at that reply. The requester's
// node finds the bill without a complete transcript, queues its dispute
// with the two chunk bodies it kept, the queue files it, the auditor
// upholds the dispute, and the entry is reversed on the ledger: the next
// pass reports it REVERSED.
func TestAdversaryWrongReconciliationReplyDisputedAndReversed(t *testing.T) {
	ctx := context.Background()
	b := newReconBilling(t)
	b.tamper = func(req *riskmeshv1.PeerRequest, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse {
		st, out := req.GetReconStep(), resp.GetReconStepped()
		if st == nil || len(out.GetChunk()) == 0 {
			return resp
		}
		c := new(ecdh.Chunk)
		if c.UnmarshalBinary(out.GetChunk()) != nil || c.Kind != ecdh.KindResponderReply || c.Seq != 1 {
			return resp
		}
		c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
		enc, err := c.MarshalBinary()
		must(t, err)
		rec := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(enc),
			Answers: transcript.ChunkHash(st.GetChunk())}
		must(t, transcript.SignRecord(b.p.sign, [transcript.DigestSize]byte(st.GetHeaderDigest()), &rec))
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: rec.Signature}}}
	}
	if _, err := b.reconcile(recon.SequenceBase); !errors.Is(err, recon.ErrPeerChunk) || !errors.Is(err, ecdh.ErrProof) {
		t.Fatalf("reconciliation with a wrong reply: %v, want ErrPeerChunk wrapping ecdh.ErrProof", err)
	}
	kept, err := recon.ReadTranscript(b.reqDir, requesterMSP, b.p.msp, b.n.period, recon.SequenceBase)
	must(t, err)
	key := b.billAnyway(t, &kept.Header, kept.RequesterSignature, kept.ResponderSignature)

	must(t, b.r.Reconcile(ctx))
	if got := b.states(t, b.r)[key.Sequence]; got != statePending {
		t.Fatalf("the bill of the refused reconciliation is %v at first, want PENDING", got)
	}
	b.clk.Advance(time.Hour)
	must(t, b.r.Reconcile(ctx))
	if pending := b.auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes still pending after filing", pending)
	}
	if state, reason, _ := b.auto.Status(key); state != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED {
		t.Fatalf("the reconciliation's dispute is %v (%s), want REVERSED", state, reason)
	}
	e, err := b.n.regulator.Entry(ctx, key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the node's reconciliation dispute did not reverse the entry")
	}
	must(t, b.r.Reconcile(ctx))
	if got := b.states(t, b.r)[key.Sequence]; got != stateReversed {
		t.Fatalf("the reversed reconciliation bill is %v, want REVERSED", got)
	}
}
