package ledgertest

import (
	"crypto/sha256"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// liveDispute plays both sides of a dispute over a live exchange's
// homomorphic step (docs/audit.md, "Live mode") on the ledger under test,
// after liveEntries: two live exchanges are billed, and for each the
// requester claims its signed homomorphic query went unanswered. The
// auditor decides from the signing keys the ledger holds: the provider
// that withheld the answer shows no receipt, the verdict is upheld and
// the requester's reversal lands; the provider that answered shows its
// receipt, the verdict is rejected and an endorsement of it reverses
// nothing.
func (s *scenario) liveDispute(t *testing.T) {
	reg := s.h.Regulator.Ledger
	req, prov := &s.h.Bank3, &s.h.Bank1
	cur, err := reg.Period(ctx(t), 0)
	must(t, err)
	live := entryOpts{protocol: transcript.ProtocolLiveHE}
	category := s.category("live")
	withheld := s.entry(t, req, prov, category, cur.Number, 3, livePrice, live)
	answered := s.entry(t, req, prov, category, cur.Number, 3, livePrice, live)
	outs, err := prov.Ledger.Record(ctx(t), []accounting.Entry{withheld, answered})
	must(t, err)
	for _, o := range outs {
		wantOutcome(t, o, accounting.OutcomeRecorded, "")
	}
	reqInst, err := reg.Institution(ctx(t), req.MSPID)
	must(t, err)
	provInst, err := reg.Institution(ctx(t), prov.MSPID)
	must(t, err)
	claimFor := func(key accounting.EntryKey) (*accounting.RecordedEntry, audit.LiveClaim, [transcript.DigestSize]byte) {
		e, err := req.Ledger.Entry(ctx(t), key)
		must(t, err)
		billed, err := audit.BilledDigest(e)
		must(t, err)
		step := &audit.LiveStep{Params: sha256.Sum256([]byte("params")), Query: sha256.Sum256([]byte(key.String()))}
		step.RequesterSignature, err = transcript.SignRequest(req.Sign, step.QueryDigest(billed))
		must(t, err)
		return e, audit.LiveClaim{Step: step, RequesterKeys: reqInst.SigningKeysIn(key.Period), ResponderKeys: provInst.SigningKeysIn(key.Period)}, billed
	}

	// Withheld: the provider's record holds the query, no receipt.
	wkey := keyOf(t, withheld)
	e, claim, _ := claimFor(wkey)
	shown := &audit.LiveStep{Params: claim.Step.Params, Query: claim.Step.Query, RequesterSignature: claim.Step.RequesterSignature}
	if d := audit.DecideLiveUnanswered(e, cur.State, claim, shown, ""); d.Verdict != accounting.VerdictUpheld {
		t.Fatalf("withheld live answer: verdict %v (%s), want upheld", d.Verdict, d.Reason)
	}
	must(t, req.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, wkey, accounting.VerdictUpheld)))
	if got, err := req.Ledger.Entry(ctx(t), wkey); err != nil || got.Reversal == nil {
		t.Fatalf("withheld live answer's entry %+v (%v), want reversed", got, err)
	}

	// Answered: the provider shows its receipt for the claimed query.
	akey := keyOf(t, answered)
	e, claim, billed := claimFor(akey)
	receipt := *claim.Step
	receipt.Answer = sha256.Sum256([]byte("answer"))
	receipt.ResponderSignature, err = transcript.SignResponse(prov.Sign, transcript.LiveAnswerDigest(receipt.QueryDigest(billed), receipt.Answer))
	must(t, err)
	d := audit.DecideLiveUnanswered(e, cur.State, claim, &receipt, "")
	if d.Verdict != accounting.VerdictRejected {
		t.Fatalf("answered live step: verdict %v (%s), want rejected", d.Verdict, d.Reason)
	}
	wantErr(t, req.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, akey, d.Verdict)), accounting.ErrForbidden)
	if got, err := req.Ledger.Entry(ctx(t), akey); err != nil || got.Reversal != nil {
		t.Fatalf("answered live step's entry %+v (%v), want its charge standing", got, err)
	}
}
