package ledgertest

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Prices of the categories liveEntries bills: one with a catalog and a
// live price, one with a catalog price only.
const (
	liveCatalogPrice = 2
	livePrice        = 9
)

// liveEntries plays the contract's rules for live-mode entries
// (transcript.ProtocolLiveHE, docs/protocol/hepsi.md "Served by the
// node"): an entry of a live exchange's POPRF step, signed by both
// parties, records at the period's live price and is billed once (a
// resubmission is a duplicate); a provider billing it at the catalog price
// is refused WRONG_AMOUNT; a live entry of a category with no live price
// is refused INVALID_ARGUMENT; a live entry whose requester signature is
// not the requester's is refused BAD_SIGNATURE.
func (s *scenario) liveEntries(t *testing.T) {
	b1, b3 := &s.h.Bank1, &s.h.Bank3
	priced, unpriced := s.category("live"), s.category("nolive")
	p := s.openPriced(t, categoryPrices{category: priced, catalog: liveCatalogPrice, mode: accounting.ModeLive, modePrice: livePrice},
		categoryPrices{category: unpriced, catalog: liveCatalogPrice})

	live := entryOpts{protocol: transcript.ProtocolLiveHE}
	good := s.entry(t, b3, b1, priced, p.Number, 5, livePrice, live)
	wrongPrice := s.entry(t, b3, b1, priced, p.Number, 5, liveCatalogPrice, live)
	noPrice := s.entry(t, b3, b1, unpriced, p.Number, 5, livePrice, live)
	forged := live
	forged.requesterSign = b1
	notSigned := s.entry(t, b3, b1, priced, p.Number, 5, livePrice, forged)
	outs, err := b1.Ledger.Record(ctx(t), []accounting.Entry{good, wrongPrice, noPrice, notSigned})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
	wantOutcome(t, outs[1], accounting.OutcomeRejected, chaincode.CodeWrongAmount)
	wantOutcome(t, outs[2], accounting.OutcomeRejected, chaincode.CodeInvalidArgument)
	wantOutcome(t, outs[3], accounting.OutcomeRejected, chaincode.CodeBadSignature)

	outs, err = b1.Ledger.Record(ctx(t), []accounting.Entry{good})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeDuplicate, "")
	e, err := b3.Ledger.Entry(ctx(t), keyOf(t, good))
	must(t, err)
	if e.Amount != 5*livePrice || e.Count != 5 {
		t.Fatalf("live entry bills %d for %d items, want %d", e.Amount, e.Count, 5*livePrice)
	}
}
