package audit_test

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// billedSession is a reconciliation between the audittest consortium's
// requester and provider, under their registered keys, in its open period.
func billedSession(t *testing.T, c *audittest.Consortium, p transcript.Protocol, seq uint64) *reconSession {
	t.Helper()
	x, y := reconLists(90, 70, 20)
	h := transcript.ReconHeader{Protocol: p, Category: audittest.Category, Period: c.Period,
		Requester: c.Requester.MSPID, Responder: c.Provider.MSPID, Sequence: seq}
	return newReconSessionOf(t, h, x, y, 32,
		&reconSide{sign: c.Requester.Sign, pub: c.Requester.SigningKey}, &reconSide{sign: c.Provider.Sign, pub: c.Provider.SigningKey})
}

// bill records s's entry as its responder, whatever became of the
// reconciliation: the header both signed is all the contract needs.
func bill(t *testing.T, c *audittest.Consortium, s *reconSession) accounting.EntryKey {
	t.Helper()
	h := &s.tr.Header
	e, err := accounting.NewReconEntry(h, s.tr.RequesterSignature, s.tr.ResponderSignature,
		int64(h.RequesterSize+h.ResponderSize)*audittest.ReconPrice)
	must(t, err)
	outs, err := c.Provider.Ledger.Record(audittest.Context(t), []accounting.Entry{e})
	must(t, err)
	if outs[0].Status != accounting.OutcomeRecorded {
		t.Fatalf("reconciliation entry: %+v", outs[0])
	}
	return outs[0].Key
}

func wantCheck(t *testing.T, r *audit.Report, name string, want audit.Status) {
	t.Helper()
	if c, ok := r.Check(name); !ok || c.Status != want {
		t.Fatalf("check %s: %+v, want %s (report %v)", name, c, want, r.Checks)
	}
}

// TestVerifyReconBill checks a reconciliation's entry against the
// transcript a party keeps: before the responder records it the entry
// check fails; once recorded every check passes, the amount being
// (n + m) × the reconciliation price; a transcript whose records were
// tampered with fails the records check.
func TestVerifyReconBill(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	ctx := audittest.Context(t)
	s := billedSession(t, c, transcript.ProtocolECDHBothLearn, 1)
	must(t, s.run(t, nil))
	r, err := audit.VerifyRecon(ctx, s.tr, c.Requester.Ledger)
	must(t, err)
	wantCheck(t, r, audit.CheckEntry, audit.Fail)
	bill(t, c, s)
	r, err = audit.VerifyRecon(ctx, s.tr, c.Requester.Ledger)
	must(t, err)
	if !r.OK() || r.Count != 160 {
		t.Fatalf("report of the billed reconciliation: %v (count %d)", r.Checks, r.Count)
	}
	wantCheck(t, r, audit.CheckAmount, audit.Pass)
	s.tr.Records[3].Hash[0] ^= 1
	r, err = audit.VerifyRecon(ctx, s.tr, c.Requester.Ledger)
	must(t, err)
	wantCheck(t, r, audit.CheckRecords, audit.Fail)
}

// TestAdversaryReconDisputeUpheldAndReversed: a responder changes one
// point of a reply, the requester refuses it at once, and the responder
// bills the reconciliation all the same. The requester's dispute with the
// two chunk bodies it kept is upheld, and the auditor's endorsement
// reverses the entry on the ledger.
func TestAdversaryReconDisputeUpheldAndReversed(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	ctx := audittest.Context(t)
	s := billedSession(t, c, transcript.ProtocolECDHBothLearn, 1)
	err := s.run(t, func(ch *ecdh.Chunk) {
		if ch.Kind == ecdh.KindResponderReply && ch.Seq == 1 {
			ch.Points[2] = otherPoint(t, ch.Points[2])
		}
	})
	if err == nil {
		t.Fatal("the requester accepted a wrong reply")
	}
	key := bill(t, c, s)
	d := s.dispute(t, ecdh.KindResponderReply, 1)
	enc, err := d.MarshalBinary()
	must(t, err)
	filed, err := audit.ParseReconDispute(enc)
	must(t, err)
	_, dec, err := audit.JudgeReconciliation(ctx, filed, c.Regulator.Ledger)
	must(t, err)
	wantVerdict(t, dec, accounting.VerdictUpheld, "is not the answered chunk raised to the key")
	digest, err := accounting.EndorsementDigest(key, dec.Verdict)
	must(t, err)
	sig, err := c.Regulator.Sign(digest[:])
	must(t, err)
	must(t, c.Requester.Ledger.Reverse(ctx, accounting.Reverse{Key: key, Auditor: c.Regulator.MSPID, Verdict: dec.Verdict, Signature: sig}))
	e, err := c.Requester.Ledger.Entry(ctx, key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the upheld reconciliation dispute did not reverse the entry")
	}
}

// TestAdversaryRequesterDisputesCorrectReconciliation: a requester
// disputes a reply that was right, one of its own returns it got wrong on
// purpose, and a reconciliation nobody billed: each is rejected.
func TestAdversaryRequesterDisputesCorrectReconciliation(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	ctx := audittest.Context(t)

	honest := billedSession(t, c, transcript.ProtocolECDHBothLearn, 1)
	must(t, honest.run(t, nil))
	bill(t, c, honest)
	_, dec, err := audit.JudgeReconciliation(ctx, honest.dispute(t, ecdh.KindResponderReply, 0), c.Regulator.Ledger)
	must(t, err)
	wantVerdict(t, dec, accounting.VerdictRejected, "the answer is correct")

	own := billedSession(t, c, transcript.ProtocolECDHBothLearn, 2)
	if err := own.run(t, func(ch *ecdh.Chunk) {
		if ch.Kind == ecdh.KindRequesterReturn && ch.Seq == 0 {
			ch.Points[0] = otherPoint(t, ch.Points[0])
		}
	}); err == nil {
		t.Fatal("the responder accepted a wrong return")
	}
	bill(t, c, own)
	_, dec, err = audit.JudgeReconciliation(ctx, own.dispute(t, ecdh.KindRequesterReturn, 0), c.Regulator.Ledger)
	must(t, err)
	wantVerdict(t, dec, accounting.VerdictRejected, "sent by the requester itself")

	unbilled := billedSession(t, c, transcript.ProtocolECDHRequesterLearns, 3)
	if err := unbilled.run(t, func(ch *ecdh.Chunk) {
		if ch.Kind == ecdh.KindResponderReply {
			ch.Points[0] = otherPoint(t, ch.Points[0])
		}
	}); err == nil {
		t.Fatal("the requester accepted a wrong reply")
	}
	_, dec, err = audit.JudgeReconciliation(ctx, unbilled.dispute(t, ecdh.KindResponderReply, 0), c.Regulator.Ledger)
	must(t, err)
	wantVerdict(t, dec, accounting.VerdictRejected, "not established (entry")
}

// FuzzParseReconDispute: a parsed dispute re-encodes to the bytes it was
// parsed from, and nothing panics.
func FuzzParseReconDispute(f *testing.F) {
	h := transcript.ReconHeader{Protocol: transcript.ProtocolECDHBothLearn, Suite: transcript.SuiteRistretto255SHA512,
		Category: "loans", Period: 3, Requester: "A", Responder: "B", Sequence: 9, RequesterSize: 5, ResponderSize: 7, ChunkSize: 4}
	seed, err := (&audit.ReconDispute{Transcript: &transcript.ReconTranscript{Header: h, RequesterSignature: []byte{1},
		ResponderSignature: []byte{2}, Records: []transcript.ChunkRecord{{Kind: ecdh.KindResponderMasked, Count: 4, Signature: []byte{3}}}},
		Answered: []byte("answered"), Answer: []byte("answer")}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("RMRD\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := audit.ParseReconDispute(data)
		if err != nil {
			return
		}
		again, err := d.MarshalBinary()
		if err != nil {
			t.Fatalf("a parsed dispute does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoded %x, parsed from %x", again, data)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
