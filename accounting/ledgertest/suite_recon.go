package ledgertest

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Prices of the category reconEntries bills: a catalog price and a
// reconciliation price, which differ so that billing at the wrong one
// shows.
const (
	reconCatalogPrice = 3
	reconPrice        = 1
)

// reconHeader is a reconciliation header of n and m items from req to
// resp; the key commitments are fixed bytes, which the contract does not
// interpret.
func (s *scenario) reconHeader(req, resp *Identity, category string, period uint64, n, m uint32) *transcript.ReconHeader {
	h := &transcript.ReconHeader{Protocol: transcript.ProtocolECDHBothLearn, Suite: transcript.SuiteRistretto255SHA512,
		Category: category, Period: period, Requester: req.MSPID, Responder: resp.MSPID, Sequence: s.nextSeq(),
		RequesterSize: n, ResponderSize: m, ChunkSize: 4096}
	h.RequesterKey[0], h.ResponderKey[0] = 1, 2
	return h
}

// reconEntry is the entry billing h at amount, its header signed by
// requesterSign and responderSign.
func reconEntry(t *testing.T, h *transcript.ReconHeader, requesterSign, responderSign *Identity, amount int64) accounting.Entry {
	t.Helper()
	d, err := h.Digest()
	must(t, err)
	reqSig, err := transcript.SignRequest(requesterSign.Sign, d)
	must(t, err)
	respSig, err := transcript.SignResponse(responderSign.Sign, d)
	must(t, err)
	e, err := accounting.NewReconEntry(h, reqSig, respSig, amount)
	must(t, err)
	return e
}

// reconEntries plays the contract's rules for reconciliation entries
// (docs/reconciliation.md, "Accounting") with Bank1 answering Bank3: the
// entry of a header both signed records at (n + m) × the reconciliation
// price, once (a resubmission, even with a fresh responder signature, is a
// duplicate), and is reversed with an auditor's endorsement like any
// entry. A dishonest responder is refused when it bills more items than
// the header (WRONG_AMOUNT), raises a size in the header after the
// requester signed it or bills a reconciliation the requester never signed
// (BAD_SIGNATURE), bills it a second time under another sequence number
// with the requester's old signature (BAD_SIGNATURE) or another amount
// under the same key (CONFLICT), bills at the catalog price (WRONG_AMOUNT),
// bills a category with no reconciliation price (INVALID_ARGUMENT) or
// bills a requester suspended before the entry's period (INACTIVE).
func (s *scenario) reconEntries(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	priced, unpriced := s.category("recon"), s.category("norecon")
	p := s.openPriced(t, categoryPrices{category: priced, catalog: reconCatalogPrice, mode: accounting.ModeReconcile, modePrice: reconPrice},
		categoryPrices{category: unpriced, catalog: reconCatalogPrice})
	const n, m = 1000, 250_000
	fair := func(h *transcript.ReconHeader) accounting.Entry {
		return reconEntry(t, h, b3, b1, int64(h.RequesterSize+h.ResponderSize)*reconPrice)
	}

	good := fair(s.reconHeader(b3, b1, priced, p.Number, n, m))
	second := fair(s.reconHeader(b3, b1, priced, p.Number, 7, 9))
	moreItems := reconEntry(t, s.reconHeader(b3, b1, priced, p.Number, n, m), b3, b1, (n+m+1)*reconPrice)
	// The requester signed a header of m responder items, not m + 1; the
	// forgery comes first in the batch, so no recorded entry hides it.
	bigger := mustParseRecon(t, good.Header)
	bigger.ResponderSize = m + 1
	raised := reconEntry(t, bigger, b3, b1, (n+m+1)*reconPrice)
	raised.RequesterSignature = good.RequesterSignature
	neverSigned := reconEntry(t, s.reconHeader(b3, b1, priced, p.Number, n, m), b2, b1, (n+m)*reconPrice)
	// The same reconciliation billed again under a fresh sequence number.
	resequenced := mustParseRecon(t, good.Header)
	resequenced.Sequence = s.nextSeq()
	replayed := fair(resequenced)
	replayed.RequesterSignature = good.RequesterSignature
	catalogPrice := reconEntry(t, s.reconHeader(b3, b1, priced, p.Number, n, m), b3, b1, (n+m)*reconCatalogPrice)
	noPrice := fair(s.reconHeader(b3, b1, unpriced, p.Number, n, m))
	badHash := fair(s.reconHeader(b3, b1, priced, p.Number, n, m))
	badHash.ResponseHash = make([]byte, len(badHash.ResponseHash))

	outs, err := b1.Ledger.Record(ctx(t), []accounting.Entry{raised, good, second, moreItems, neverSigned, replayed, catalogPrice, noPrice, badHash})
	must(t, err)
	want := []struct {
		name   string
		status accounting.OutcomeStatus
		code   chaincode.Code
	}{
		{"AdversarySizeRaisedAfterSigning", accounting.OutcomeRejected, chaincode.CodeBadSignature},
		{"Good", accounting.OutcomeRecorded, ""},
		{"Second", accounting.OutcomeRecorded, ""},
		{"AdversaryMoreItemsThanTheHeader", accounting.OutcomeRejected, chaincode.CodeWrongAmount},
		{"AdversaryRequesterNeverSigned", accounting.OutcomeRejected, chaincode.CodeBadSignature},
		{"AdversaryBilledTwiceUnderAnotherSequence", accounting.OutcomeRejected, chaincode.CodeBadSignature},
		{"AdversaryAtTheCatalogPrice", accounting.OutcomeRejected, chaincode.CodeWrongAmount},
		{"NoReconciliationPrice", accounting.OutcomeRejected, chaincode.CodeInvalidArgument},
		{"HashesNotTheHeaderDigest", accounting.OutcomeRejected, chaincode.CodeInvalidArgument},
	}
	for i, w := range want {
		t.Run(w.name, func(t *testing.T) { wantOutcome(t, outs[i], w.status, w.code) })
	}

	// Exactly once: the same entry, or the same reconciliation with a fresh
	// responder signature, is a duplicate; another amount under its key is
	// a conflict and changes nothing.
	again := good
	again.ResponderSignature = reconEntry(t, mustParseRecon(t, good.Header), b3, b1, good.Amount).ResponderSignature
	twice := good
	twice.Amount *= 2
	outs, err = b1.Ledger.Record(ctx(t), []accounting.Entry{good, again, twice})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeDuplicate, "")
	wantOutcome(t, outs[1], accounting.OutcomeDuplicate, "")
	wantOutcome(t, outs[2], accounting.OutcomeRejected, chaincode.CodeConflict)
	key := keyOf(t, good)
	e, err := b3.Ledger.Entry(ctx(t), key)
	must(t, err)
	if e.Amount != (n+m)*reconPrice || e.Count != n+m || e.Category != priced {
		t.Fatalf("reconciliation entry bills %d for %d items of %s, want %d for %d of %s", e.Amount, e.Count, e.Category, (n+m)*reconPrice, n+m, priced)
	}
	page, err := b3.Ledger.Entries(ctx(t), accounting.EntriesQuery{Period: p.Number, Party: Bank3MSP})
	must(t, err)
	if len(page.Entries) != 2 {
		t.Fatalf("Bank3 is billed %d entries in period %d, want the 2 recorded", len(page.Entries), p.Number)
	}

	// An upheld dispute reverses it like any entry; only once.
	must(t, b3.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)))
	wantErr(t, b3.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)), accounting.ErrAlreadyReversed)
	e, err = b3.Ledger.Entry(ctx(t), key)
	must(t, err)
	if e.Reversal == nil || e.Reversal.Auditor != RegulatorMSP {
		t.Fatalf("reversed reconciliation entry: %+v", e.Reversal)
	}

	// A requester suspended in period p is still billed for p, not after.
	must(t, reg.SuspendInstitution(ctx(t), Bank3MSP))
	must(t, reg.ClosePeriod(ctx(t), p.Number-1))
	next, err := reg.Rollover(ctx(t))
	must(t, err)
	outs, err = b1.Ledger.Record(ctx(t), []accounting.Entry{
		fair(s.reconHeader(b3, b1, priced, p.Number, 3, 4)),
		fair(s.reconHeader(b3, b1, priced, next.Number, 3, 4)),
	})
	must(t, err)
	must(t, reg.ReactivateInstitution(ctx(t), Bank3MSP))
	wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
	wantOutcome(t, outs[1], accounting.OutcomeRejected, chaincode.CodeInactive)
}

func mustParseRecon(t *testing.T, header []byte) *transcript.ReconHeader {
	t.Helper()
	h, err := transcript.ParseReconHeader(header)
	must(t, err)
	return h
}
