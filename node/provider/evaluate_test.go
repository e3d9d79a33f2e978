package provider

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const phone = "+8613800138000"

// Each refusal, made by spoiling one thing in an otherwise good request.
// Nothing refused is journaled.
func TestEvaluateRefusals(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBatch = 3 })
	resign := func(mutate func(h *transcript.Header)) *riskmeshv1.PeerRequest {
		q := f.newQuery(1, 0, phone)
		mutate(q.header)
		return f.sign(q.header, q.req.GetEvaluate().GetBlinded())
	}
	edit := func(mutate func(e *riskmeshv1.EvaluateRequest)) *riskmeshv1.PeerRequest {
		q := f.newQuery(1, 0, phone)
		mutate(q.req.GetEvaluate())
		return q.req
	}
	for _, tc := range []struct {
		name string
		req  *riskmeshv1.PeerRequest
		want riskmeshv1.ErrorCode
	}{
		{"header does not parse", edit(func(e *riskmeshv1.EvaluateRequest) { e.Header = e.Header[:10] }), codeMalformed},
		{"header too long", edit(func(e *riskmeshv1.EvaluateRequest) { e.Header = make([]byte, transcript.MaxHeaderSize+1) }), codeMalformed},
		{"ECDH protocol", resign(func(h *transcript.Header) { h.Protocol = transcript.ProtocolECDHBothLearn }), codeMalformed},
		{"another responder", resign(func(h *transcript.Header) { h.Responder = "OtherMSP" }), codeNotFound},
		{"requester is not the peer", resign(func(h *transcript.Header) { h.Requester = "OtherMSP" }), codeUnknownPeer},
		{"category not provided", resign(func(h *transcript.Header) { h.Category = "grey" }), codeNotFound},
		{"batch too large", f.newQuery(1, 0, phone, phone, phone, phone).req, codeTooLarge},
		{"blinded length", edit(func(e *riskmeshv1.EvaluateRequest) { e.Blinded = e.Blinded[:31] }), codeMalformed},
		{"no signature", edit(func(e *riskmeshv1.EvaluateRequest) { e.RequesterSignature = nil }), codeMalformed},
		{"bad signature", edit(func(e *riskmeshv1.EvaluateRequest) { e.Blinded[0] ^= 1 }), codeBadSig},
		{"future period", f.newQuery(2, 0, phone).req, codeUnavailable},
		{"wrong key id", resign(func(h *transcript.Header) { h.KeyID[0] ^= 1 }), codeStale},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, f.handle(tc.req), tc.want) })
	}
	t.Run("invalid element", func(t *testing.T) {
		q := f.newQuery(1, 0, phone, phone)
		blinded := bytes.Clone(q.req.GetEvaluate().GetBlinded())
		for i := 32; i < 64; i++ {
			blinded[i] = 0xff // not a canonical ristretto255 encoding
		}
		resp := f.handle(f.sign(q.header, blinded))
		wantCode(t, resp, codeMalformed)
		if resp.GetError().ElementIndex == nil || resp.GetError().GetElementIndex() != 1 {
			t.Fatalf("element_index = %v, want 1", resp.GetError().ElementIndex)
		}
	})
	t.Run("batch too large says the limit", func(t *testing.T) {
		if got := f.handle(f.newQuery(1, 0, phone, phone, phone, phone).req).GetError().GetMaxItems(); got != 3 {
			t.Fatalf("max_items = %d, want 3", got)
		}
	})
	if d := f.p.OutboxDepth(); d != 0 {
		t.Fatalf("refused requests journaled %d entries", d)
	}
}

func TestEvaluateRequesterStanding(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("suspended", func(t *testing.T) {
		must(t, f.regulator.SuspendInstitution(f.ctx, requesterMSP))
		f.refresh()
		wantCode(t, f.handle(f.newQuery(1, 0, phone).req), codeSuspended)
		must(t, f.regulator.ReactivateInstitution(f.ctx, requesterMSP))
		f.refresh()
	})
	t.Run("unknown to the registry", func(t *testing.T) {
		q := f.newQuery(1, 0, phone)
		resp := f.p.Handle(f.ctx, peer.Identity{MSPID: "StrangerMSP"}, q.req)
		wantCode(t, resp, codeUnknownPeer)
	})
	t.Run("flagged after settlement", func(t *testing.T) {
		// Period 1: one answered batch, so the requester's balance goes
		// below a zero overdraft limit once period 1 is settled.
		if f.handle(f.newQuery(1, 0, phone).req).GetEvaluate() == nil {
			t.Fatal("evaluate refused")
		}
		f.flush()
		_, err := f.regulator.Rollover(f.ctx)
		must(t, err)
		must(t, f.regulator.ClosePeriod(f.ctx, 1))
		for range 10 {
			res, err := f.regulator.Settle(f.ctx, 1, 0)
			must(t, err)
			if res.Done {
				break
			}
		}
		must(t, f.regulator.SetLimit(f.ctx, requesterMSP, 0))
		f.refresh()
		wantCode(t, f.handle(f.newQuery(2, 0, phone).req), codeOverLimit)
		// The snapshot nets the balance, yet the flag stays until the
		// regulator records the snapshot paid.
		_, err = f.regulator.TakeSnapshot(f.ctx, 1)
		must(t, err)
		must(t, f.regulator.SetLimit(f.ctx, requesterMSP, fixtureLimit))
		f.refresh()
		wantCode(t, f.handle(f.newQuery(2, 0, phone).req), codeOverLimit)
		_, err = f.regulator.MarkPaid(f.ctx, 1)
		must(t, err)
		f.refresh()
		if f.handle(f.newQuery(2, 0, phone).req).GetEvaluate() == nil {
			t.Fatal("refused after the snapshot was paid")
		}
	})
}

// An identical retry gets the stored answer and is not billed again; the
// same sequence number with another request is a replay; with sealing
// on and off.
func TestEvaluateReplay(t *testing.T) { atRest(t, testEvaluateReplay) }

func testEvaluateReplay(t *testing.T, tweak func(*Config)) {
	f := newFixture(t, tweak)
	q := f.newQuery(1, 0, phone, phone)
	first := f.handle(q.req).GetEvaluate()
	again := f.handle(q.req).GetEvaluate()
	if first == nil || again == nil {
		t.Fatal("evaluate refused")
	}
	if !bytes.Equal(first.GetEvaluated(), again.GetEvaluated()) || !bytes.Equal(first.GetProof(), again.GetProof()) ||
		!bytes.Equal(first.GetResponderSignature(), again.GetResponderSignature()) {
		t.Fatal("retry got a different answer")
	}
	if d := f.p.OutboxDepth(); d != 1 {
		t.Fatalf("outbox depth %d after a retry, want 1", d)
	}
	other := f.newQuery(1, q.header.Sequence, phone)
	wantCode(t, f.handle(other.req), codeReplayed)
	f.flush()
	if f.p.Outbox().DeadCount() != 0 {
		t.Fatal("the ledger rejected the entry")
	}
}

// In the previous period's grace window only retries of requests answered
// before are answered (with the stored answer, billed once); a new request
// for it is refused, so nothing is journalled after the providers' drain
// reports. Once the period is closed even the retry is refused.
func TestEvaluateGraceWindow(t *testing.T) {
	f := newFixture(t, nil)
	answered := f.newQuery(1, 0, phone)
	first := f.handle(answered.req).GetEvaluate()
	if first == nil {
		t.Fatal("period 1 refused while open")
	}
	_, err := f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	again := f.handle(answered.req).GetEvaluate()
	if again == nil || !bytes.Equal(again.GetResponderSignature(), first.GetResponderSignature()) {
		t.Fatal("a retry in the grace window did not get the stored answer")
	}
	wantCode(t, f.handle(f.newQuery(1, 0, phone).req), codeStale)
	if f.handle(f.newQuery(2, 0, phone).req).GetEvaluate() == nil {
		t.Fatal("period 2 refused")
	}
	f.flush() // before the grace window closes, or the ledger refuses period 1's entry
	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	f.refresh()
	wantCode(t, f.handle(f.newQuery(1, 0, phone).req), codeStale)
	if n := f.p.Outbox().Recorded(); n != 2 {
		t.Fatalf("%d entries recorded, want 2", n)
	}
}

// Transcripts and replay entries older than RetainPeriods periods are
// deleted, and catalog files before the previous period; newer ones stay.
func TestTranscriptRetention(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RetainPeriods = 2 })
	f.maintain()
	leftover := filepath.Join(filepath.Dir(f.p.catalogPath(category, 1)), tmpPrefix+"crashed")
	must(t, os.WriteFile(leftover, []byte("half a catalog"), 0o600))
	if f.handle(f.newQuery(1, 0, phone).req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	for period := uint64(2); period <= 3; period++ {
		f.flush()
		_, err := f.regulator.Rollover(f.ctx)
		must(t, err)
		must(t, f.regulator.ClosePeriod(f.ctx, period-1))
		f.refresh()
		if f.handle(f.newQuery(period, 0, phone).req).GetEvaluate() == nil {
			t.Fatalf("evaluate refused in period %d", period)
		}
		f.maintain()
	}
	for _, tc := range []struct {
		period, seq uint64
		kept        bool
	}{{1, 1, false}, {2, 2, true}, {3, 3, true}} {
		got, err := f.p.Transcript(tc.period, tc.seq, requesterMSP)
		must(t, err)
		if (got != nil) != tc.kept {
			t.Errorf("transcript of period %d kept = %v, want %v", tc.period, got != nil, tc.kept)
		}
	}
	for _, tc := range []struct {
		period uint64
		kept   bool
	}{{1, false}, {2, true}, {3, true}} {
		_, err := os.Stat(f.p.catalogPath(category, tc.period))
		if kept := err == nil; kept != tc.kept {
			t.Errorf("catalog file of period %d kept = %v, want %v", tc.period, kept, tc.kept)
		}
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted build's temporary file was not removed: %v", err)
	}
	e, err := f.requester.Entry(f.ctx, accounting.EntryKey{Period: 1, Requester: requesterMSP, Responder: providerMSP, Sequence: 1})
	must(t, err)
	if e.Count != 1 {
		t.Fatal("pruning a transcript touched its ledger entry")
	}
}

// A provider configured to misbehave answers, signs and bills as usual, but
// its proof does not cover what it returned: the requester's Finalize
// refuses the answer, which is what a dispute is filed on.
func TestEvaluateCorruptEvaluation(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		f := newFixture(t, func(c *Config) { c.CorruptEvaluation = corrupt })
		q := f.newQuery(1, 0, phone, phone)
		ev := f.handle(q.req).GetEvaluate()
		if ev == nil {
			t.Fatalf("corrupt=%v: no answer", corrupt)
		}
		client, err := oprf.NewClient(f.key.Public(), catalogpsi.Info(category, 1))
		must(t, err)
		_, err = client.Finalize(q.state, ev.GetEvaluated(), ev.GetProof())
		if corrupt != errors.Is(err, oprf.ErrProofVerification) || (!corrupt && err != nil) {
			t.Fatalf("corrupt=%v: Finalize error %v", corrupt, err)
		}
		if len(ev.GetResponderSignature()) == 0 {
			t.Fatalf("corrupt=%v: answer not signed", corrupt)
		}
	}
}
