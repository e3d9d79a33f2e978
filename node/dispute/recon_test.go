package dispute_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/recon/recontest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The reconciliation pair's lists: the requester's 200 phones against the
// responder's 300, 100 shared; the requester sends chunks of 64.
const (
	reconReqRows, reconRespRows = 200, 300
	reconChunk                  = 64
)

// ledgerJournal records a responder's reconciliation entries on the
// ledger at once, as its outbox would once drained.
type ledgerJournal struct{ l accounting.Ledger }

func (j ledgerJournal) Put(e accounting.Entry) (accounting.EntryKey, error) {
	outs, err := j.l.Record(context.Background(), []accounting.Entry{e})
	if err != nil {
		return accounting.EntryKey{}, err
	}
	if outs[0].Status != accounting.OutcomeRecorded && outs[0].Status != accounting.OutcomeDuplicate {
		return accounting.EntryKey{}, fmt.Errorf("record: %+v", outs[0])
	}
	return outs[0].Key, nil
}

// tamper changes a responder's answer to a step on its way out.
type tamper func(t *testing.T, step *riskmeshv1.ReconStep, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse

// reconPair is the network's provider answering reconciliations over real
// QUIC, billing the ones it answers to the end on the network's ledger,
// and its requester, whose node files its disputes through the fixture's
// Auto over the same node.db, as the daemon wires them.
type reconPair struct {
	n      *network
	f      *autoFixture
	filer  dispute.Filer
	reqDir string
	req    *recon.Node
	conn   *peer.Client
}

// newReconPair starts the pair; answer, if set, makes the responder's
// tamper from its signing key.
func newReconPair(t *testing.T, answer func(sign ecsig.Sign) tamper) *reconPair {
	t.Helper()
	n := newNetwork(t, embedded)
	_, filer := n.client(t, audittest.Requester)
	p := &reconPair{n: n, f: newAuto(t, n, filer), filer: filer, reqDir: t.TempDir()}
	respDB, err := bbolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	must(t, err)
	t.Cleanup(func() { respDB.Close() })
	prov := n.ids[audittest.Provider]
	resp, err := recon.New(recon.Config{MSPID: audittest.Provider, Sign: prov.Sign, Keys: p.keys, Dir: t.TempDir(), DB: respDB,
		Lists: []recon.List{{Name: "loans", Category: audittest.Category, Code: 1, Source: recontest.Phones{Lo: 100, Hi: 100 + reconRespRows}}},
		Grants: []recon.Grant{{Requester: audittest.Requester, List: "loans",
			Protocols: []transcript.Protocol{transcript.ProtocolECDHRequesterLearns, transcript.ProtocolECDHBothLearn}}},
		Bill: recon.JournalBill(ledgerJournal{n.c.Provider.Ledger}, n.c.Provider.Ledger.Period)})
	must(t, err)
	p.openRequester(t)
	var change tamper
	if answer != nil {
		change = answer(prov.Sign)
	}

	msps := map[peer.Fingerprint]string{}
	for _, msp := range []string{audittest.Requester, audittest.Provider} {
		msps[n.ids[msp].Fingerprint] = msp
	}
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := msps[peer.Fingerprint(fp)]; ok {
			return msp, nil
		}
		return "", errors.New("unknown certificate")
	})
	srv, err := peer.Listen(t.Context(), "127.0.0.1:0", peer.Config{Certificate: prov.Certificate, Authorizer: auth,
		Handler: func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			out := resp.Handle(ctx, who, req)
			if st := req.GetReconStep(); st != nil && change != nil && len(out.GetReconStepped().GetChunk()) > 0 {
				out = change(t, st, out)
			}
			return out
		}})
	must(t, err)
	t.Cleanup(func() { srv.Close() })
	p.conn, err = peer.Dial(t.Context(), srv.Addr().String(), peer.Config{Certificate: n.ids[audittest.Requester].Certificate, Authorizer: auth})
	must(t, err)
	t.Cleanup(func() { p.conn.Close() })
	return p
}

// keys are an institution's signing keys for a period, from the ledger.
func (p *reconPair) keys(ctx context.Context, msp string, period uint64) ([][]byte, error) {
	inst, err := p.n.c.Regulator.Ledger.Institution(ctx, msp)
	if err != nil {
		return nil, err
	}
	return inst.SigningKeysIn(period), nil
}

// openRequester opens the requester's reconciliation node over the
// fixture's node.db and Auto.
func (p *reconPair) openRequester(t *testing.T) {
	t.Helper()
	var err error
	p.req, err = recon.New(recon.Config{MSPID: audittest.Requester, Sign: p.n.ids[audittest.Requester].Sign, Keys: p.keys,
		Dir: p.reqDir, DB: p.f.db, ChunkSize: reconChunk,
		Lists:    []recon.List{{Name: "mine", Category: audittest.Category, Code: 1, Source: recontest.Phones{Lo: 0, Hi: reconReqRows}}},
		Disputed: p.f.auto.EnqueueReconciliation, DisputeStatus: p.f.auto.Status})
	must(t, err)
}

// restartRequester stops the requester's node and starts it again over
// its node.db: nothing of its memory is kept.
func (p *reconPair) restartRequester(t *testing.T) {
	t.Helper()
	must(t, p.f.db.Close())
	dc, err := dispute.New(dispute.Config{Ledger: p.n.c.Requester.Ledger, Auditor: p.filer, AuditorMSP: audittest.Regulator})
	must(t, err)
	p.f.open(t, dc)
	p.openRequester(t)
}

// reconcile runs reconciliation SequenceBase in requester-learns, sent
// through send (the QUIC connection if nil).
func (p *reconPair) reconcile(send recon.Send) (*recon.Result, error) {
	if send == nil {
		send = p.conn.Do
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return p.req.Reconcile(ctx, send, recon.Request{Responder: audittest.Provider, List: "mine", PeerList: "loans",
		Protocol: transcript.ProtocolECDHRequesterLearns, Period: p.n.c.Period, Sequence: recon.SequenceBase})
}

func (p *reconPair) key() accounting.EntryKey {
	return accounting.EntryKey{Period: p.n.c.Period, Requester: audittest.Requester, Responder: audittest.Provider, Sequence: recon.SequenceBase}
}

func (p *reconPair) id() string {
	return recon.ID(audittest.Requester, audittest.Provider, p.n.c.Period, recon.SequenceBase)
}

// shown checks the reconciliation's state and its dispute's as the
// business API shows them (Get and List), and returns the dispute.
func (p *reconPair) shown(t *testing.T, state string, want riskmeshv1.DisputeState) *riskmeshv1.ExchangeDispute {
	t.Helper()
	st, err := p.req.Get(p.id())
	must(t, err)
	d := st.GetDispute()
	if st.GetState() != state || d.GetState() != want || d.GetKey().GetSequence() != recon.SequenceBase || d.GetReason() == "" {
		t.Fatalf("the reconciliation is shown %s with dispute %v, want %s with a %s dispute and its reason", st.GetState(), d, state, want)
	}
	listed := 0
	for _, l := range p.req.List() {
		if l.GetId() != p.id() {
			continue
		}
		listed++
		if l.GetDispute().GetState() != want {
			t.Fatalf("List shows the dispute %v, Get %v", l.GetDispute().GetState(), want)
		}
	}
	if listed != 1 {
		t.Fatalf("List shows the reconciliation %d times", listed)
	}
	return d
}

// charged reports whether the ledger charges the reconciliation: billed
// and not reversed.
func (p *reconPair) charged(t *testing.T) bool {
	t.Helper()
	e, err := p.n.c.Regulator.Ledger.Entry(audittest.Context(t), p.key())
	if errors.Is(err, accounting.ErrNotFound) {
		return false
	}
	must(t, err)
	return e.Reversal == nil
}

// signedAnswer is the responder's answer to step made of c, its record
// signed with the responder's own registered key: a dishonest responder
// signs whatever it sends.
func signedAnswer(t *testing.T, sign ecsig.Sign, step *riskmeshv1.ReconStep, c *ecdh.Chunk) *riskmeshv1.PeerResponse {
	enc, err := c.MarshalBinary()
	if err != nil {
		t.Error(err)
		return nil
	}
	r := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(enc),
		Answers: transcript.ChunkHash(step.GetChunk())}
	if len(step.GetHeaderDigest()) != transcript.DigestSize {
		t.Error("a step without a header digest")
		return nil
	}
	if err := transcript.SignRecord(sign, [transcript.DigestSize]byte(step.GetHeaderDigest()), &r); err != nil {
		t.Error(err)
		return nil
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: r.Signature}}}
}

// reply decodes resp's chunk if it is the reply to the requester's chunk
// seq.
func reply(resp *riskmeshv1.PeerResponse, seq uint32) (*ecdh.Chunk, bool) {
	c := new(ecdh.Chunk)
	if c.UnmarshalBinary(resp.GetReconStepped().GetChunk()) != nil || c.Kind != ecdh.KindResponderReply || c.Seq != seq {
		return nil, false
	}
	return c, true
}

// wrongReplies are the dishonest responder's answers to the requester's
// chunk 1, each signed with its own key: a wrong exponentiation (two
// points swapped, the proof no longer holds), and the reply to chunk 0,
// proof and all, placed as the reply to chunk 1.
var wrongReplies = map[string]func(sign ecsig.Sign) tamper{
	"PointsSwapped": func(sign ecsig.Sign) tamper {
		return func(t *testing.T, step *riskmeshv1.ReconStep, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse {
			c, ok := reply(resp, 1)
			if !ok {
				return resp
			}
			c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
			return signedAnswer(t, sign, step, c)
		}
	},
	"ChunkSwapped": func(sign ecsig.Sign) tamper {
		// The handler runs on the server's goroutines, which the race
		// detector does not see ordered one after the other.
		var (
			mu    sync.Mutex
			first *ecdh.Chunk // the reply to chunk 0
		)
		return func(t *testing.T, step *riskmeshv1.ReconStep, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse {
			mu.Lock()
			defer mu.Unlock()
			if c, ok := reply(resp, 0); ok {
				first = c
				return resp
			}
			if _, ok := reply(resp, 1); !ok || first == nil {
				return resp
			}
			first.Seq = 1
			return signedAnswer(t, sign, step, first)
		}
	},
}

// TestAdversaryWrongReconciliationReplyQueued plays a responder running
// its own code that answers the requester's chunk 1 wrongly, signed with
// its own key, over real QUIC. The requester's node refuses the answer
// and queues the dispute in node.db at once; the responder bills the
// reconciliation all the same (the header is signed by both); the
// requester's node restarts before filing; its queue then files the
// dispute with the real auditor service, which upholds it from the
// transcript and the two chunk bodies alone, and the reversal lands on the
// ledger. Every view shows what the ledger holds: the dispute PENDING
// while the charge stands, REVERSED once it is reversed, in Get, List and
// the push events.
func TestAdversaryWrongReconciliationReplyQueued(t *testing.T) {
	for name, answer := range wrongReplies {
		t.Run(name, func(t *testing.T) {
			p := newReconPair(t, answer)
			ctx := audittest.Context(t)
			if _, err := p.reconcile(nil); !errors.Is(err, recon.ErrPeerChunk) || !errors.Is(err, ecdh.ErrProof) {
				t.Fatalf("reconciliation with a wrong reply: %v, want ErrPeerChunk wrapping ecdh.ErrProof", err)
			}
			p.shown(t, recon.StateFailed, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)

			kept, err := recon.ReadTranscript(p.reqDir, audittest.Requester, audittest.Provider, p.n.c.Period, recon.SequenceBase)
			must(t, err)
			forced, err := accounting.NewReconEntry(&kept.Header, kept.RequesterSignature, kept.ResponderSignature,
				(reconReqRows+reconRespRows)*audittest.ReconPrice)
			must(t, err)
			_, err = ledgerJournal{p.n.c.Provider.Ledger}.Put(forced)
			must(t, err)

			p.restartRequester(t)
			p.shown(t, recon.StateFailed, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)
			if !p.charged(t) {
				t.Fatal("the forced bill is not on the ledger")
			}
			if pending := p.f.auto.Process(ctx); pending != 0 {
				t.Fatalf("%d disputes pending after filing", pending)
			}
			rec, err := p.f.auto.State(p.key())
			must(t, err)
			wantState(t, rec, riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
			if rec.GetVerdict().GetVerdict() != riskmeshv1.Verdict_VERDICT_UPHELD || rec.Attempts != 1 {
				t.Fatalf("record %v, want the upheld verdict at the first filing", rec)
			}
			if p.charged(t) {
				t.Fatal("the upheld dispute did not reverse the reconciliation's charge")
			}
			if d := p.shown(t, recon.StateFailed, riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED); d.GetReason() != rec.GetVerdict().GetReason() {
				t.Fatalf("shown reason %q, the auditor's %q", d.GetReason(), rec.GetVerdict().GetReason())
			}
			wantEvents(t, p.f.events, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING, riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
		})
	}
}

// wantEvents checks the dispute events Auto pushed, in order.
func wantEvents(t *testing.T, events []*riskmeshv1.PushEvent, states ...riskmeshv1.DisputeState) {
	t.Helper()
	if len(events) != len(states) {
		t.Fatalf("%d dispute events, want %d: %v", len(events), len(states), events)
	}
	for i, ev := range events {
		if d := ev.GetDispute(); ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_DISPUTE || d.GetState() != states[i] ||
			d.GetKey().GetSequence() != recon.SequenceBase {
			t.Errorf("event %d is %v, want the reconciliation's dispute %s", i, ev, states[i])
		}
	}
}

// TestAdversaryWrongReconciliationReplyUnbilled: the same wrong reply
// from a responder that then does not bill the reconciliation it never
// finished. The dispute stays PENDING while the period takes records, and
// is UNBILLED once it closed: the ledger never charged it, and every view
// says so.
func TestAdversaryWrongReconciliationReplyUnbilled(t *testing.T) {
	p := newReconPair(t, wrongReplies["PointsSwapped"])
	ctx := audittest.Context(t)
	if _, err := p.reconcile(nil); !errors.Is(err, ecdh.ErrProof) {
		t.Fatalf("reconciliation with a wrong reply: %v, want ecdh.ErrProof", err)
	}
	if pending := p.f.auto.Process(ctx); pending != 1 {
		t.Fatalf("%d disputes pending before the period closed, want 1", pending)
	}
	p.shown(t, recon.StateFailed, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)
	reg := p.n.c.Regulator.Ledger
	_, err := reg.Rollover(ctx)
	must(t, err)
	must(t, reg.ClosePeriod(ctx, p.n.c.Period))
	p.f.clock.Advance(time.Hour)
	if pending := p.f.auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes pending after the period closed", pending)
	}
	p.shown(t, recon.StateFailed, riskmeshv1.DisputeState_DISPUTE_STATE_UNBILLED)
	if p.charged(t) {
		t.Fatal("an unbilled reconciliation is charged")
	}
}

// TestAdversaryFalseReconciliationDispute plays a requester that disputes
// a correct reconciliation: the responder answered every chunk correctly
// and billed it, and the requester files, through its node's queue, the
// reply to its chunk 1 it captured on the wire (claiming it withholds
// matches), or that reply with two points swapped (an answer the
// responder never signed). The auditor rejects both; the charge stands,
// and the reconciliation shows its dispute REJECTED.
func TestAdversaryFalseReconciliationDispute(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *ecdh.Chunk)
	}{
		{"CorrectAnswer", func(*ecdh.Chunk) {}},
		{"AnswerNotSigned", func(c *ecdh.Chunk) { c.Points[0], c.Points[1] = c.Points[1], c.Points[0] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newReconPair(t, nil)
			ctx := audittest.Context(t)
			var answered, answer []byte
			capture := func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
				resp, err := p.conn.Do(ctx, req)
				if c, ok := reply(resp, 1); ok && err == nil {
					tc.edit(c)
					enc, err := c.MarshalBinary()
					if err != nil {
						return nil, err
					}
					answered, answer = req.GetReconStep().GetChunk(), enc
				}
				return resp, err
			}
			res, err := p.reconcile(capture)
			must(t, err)
			if res.Matches != 100 || answer == nil {
				t.Fatalf("the honest reconciliation matched %d rows (want the 100 planted), reply captured: %t", res.Matches, answer != nil)
			}
			if !p.charged(t) {
				t.Fatal("the honest reconciliation is not billed")
			}
			kept, err := recon.ReadTranscript(p.reqDir, audittest.Requester, audittest.Provider, p.n.c.Period, recon.SequenceBase)
			must(t, err)
			must(t, p.f.auto.EnqueueReconciliation(&audit.ReconDispute{Transcript: kept, Answered: answered, Answer: answer},
				"reply 1 withholds matches"))
			if pending := p.f.auto.Process(ctx); pending != 0 {
				t.Fatalf("%d disputes pending after filing", pending)
			}
			rec, err := p.f.auto.State(p.key())
			must(t, err)
			wantState(t, rec, riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED)
			if !p.charged(t) {
				t.Fatal("a false dispute reversed the charge")
			}
			p.shown(t, recon.StateDone, riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
