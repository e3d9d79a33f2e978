package ledgertest

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Prices of the category modePrices sets: a catalog and a live price, no
// reconciliation price.
const (
	modeCatalogPrice = 2
	modeLivePrice    = 7
)

// modePrices plays the rules of prices per mode (docs/ledger.md, Prices):
// a bank setting a live price and the regulator naming an unknown mode are
// refused; the regulator's live price shows in GetPrices and in the next
// period, apart from the catalog price, with no fallback for the mode it
// did not price. In that period a provider billing a catalog entry at the
// live price is refused and one at the catalog price records; a live-mode
// entry, signed by both parties at the live price, records (liveEntries
// plays the live rules).
func (s *scenario) modePrices(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b2, b3 := &s.h.Bank2, &s.h.Bank3
	cat := s.category("modes")
	wantErr(t, b3.Ledger.SetModePrice(ctx(t), cat, accounting.ModeLive, 1), accounting.ErrForbidden)
	wantErr(t, reg.SetModePrice(ctx(t), cat, "bulk", 1), accounting.ErrInvalidArgument)
	wantErr(t, reg.SetModePrice(ctx(t), cat, accounting.ModeLive, -1), accounting.ErrInvalidArgument)
	p := s.openPriced(t, categoryPrices{category: cat, catalog: modeCatalogPrice, mode: accounting.ModeLive, modePrice: modeLivePrice})
	list, err := b2.Ledger.Prices(ctx(t))
	must(t, err)
	if got, ok := list.Base(cat, accounting.ModeLive); !ok || got != modeLivePrice || list.Prices[cat] != modeCatalogPrice {
		t.Fatalf("GetPrices of %s: catalog %d, live %d (%v)", cat, list.Prices[cat], got, ok)
	}
	for mode, want := range map[accounting.Mode]int64{accounting.ModeCatalog: modeCatalogPrice, accounting.ModeLive: modeLivePrice} {
		if got, ok := p.Price(cat, mode, Bank3MSP); !ok || got != want {
			t.Fatalf("period %d prices %s in %s at %d (%v), want %d", p.Number, cat, mode, got, ok, want)
		}
	}
	if got, ok := p.Price(cat, accounting.ModeReconcile, Bank3MSP); ok {
		t.Fatalf("period %d prices %s in reconcile mode at %d, set for none", p.Number, cat, got)
	}

	outs, err := b3.Ledger.Record(ctx(t), []accounting.Entry{
		s.entry(t, b2, b3, cat, p.Number, 4, modeLivePrice, entryOpts{}),
		s.entry(t, b2, b3, cat, p.Number, 4, modeLivePrice, entryOpts{protocol: transcript.ProtocolLiveHE}),
	})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRejected, chaincode.CodeWrongAmount)
	wantOutcome(t, outs[1], accounting.OutcomeRecorded, "")
	s.recordOK(t, b3, s.entry(t, b2, b3, cat, p.Number, 4, modeCatalogPrice, entryOpts{}))
}
