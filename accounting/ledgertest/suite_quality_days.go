package ledgertest

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// qualityAcrossSnapshot plays the money cycle of daily periods and one
// snapshot over fifteen of them against the quality policy
// (docs/quality.md, "The quality policy and prices"): three requesters
// rate Bank3's answers of the first day, revise while the day is settled
// but not snapshotted, are refused once the snapshot covers it, and every
// day that opens after the snapshot, past the thirteenth, still bills
// Bank3 at its tier's multiplier from the window ending at the snapshot's
// last day. It restores the regulator's roles and the default policy.
func (s *scenario) qualityAcrossSnapshot(t *testing.T) {
	const days = 15
	reg := s.h.Regulator.Ledger
	b1, b2, b3, rg := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3, &s.h.Regulator
	q := s.category("days")
	must(t, reg.SetPrice(ctx(t), q, 4))
	must(t, reg.SetRoles(ctx(t), RegulatorMSP, []accounting.Role{accounting.RoleAuditor, accounting.RoleRequester}))
	policy := accounting.QualityPolicy{MinRequesters: 3, Window: 31, Tiers: []accounting.QualityTier{
		{MinConfirmation: 9000, Multiplier: 12000}, {MinConfirmation: 0, Multiplier: 5000},
	}}
	must(t, reg.SetQualityPolicy(ctx(t), policy))
	// nextDay opens a day and closes the one that ends; the previous one is
	// closed already.
	nextDay := func(t *testing.T) *accounting.Period {
		t.Helper()
		p, err := reg.Rollover(ctx(t))
		must(t, err)
		must(t, reg.ClosePeriod(ctx(t), p.Number-1))
		return p
	}
	first := openAfterSnapshot(t, reg)

	// Day 1: Bank3 answers each requester once, 10 items.
	price := first.Prices[q]
	reports := map[*Identity]accounting.OutcomeReport{}
	for id, confirmed := range map[*Identity]uint32{b1: 9, b2: 8, rg: 5} {
		e := s.entry(t, id, b3, q, first.Number, 10, price, entryOpts{})
		s.recordOK(t, b3, e)
		reports[id] = accounting.OutcomeReport{Key: keyOf(t, e), Confirmed: confirmed, Wrong: 10 - confirmed}
	}
	report := func(t *testing.T, id *Identity, r accounting.OutcomeReport, status accounting.OutcomeStatus, code chaincode.Code) {
		t.Helper()
		outs, err := id.Ledger.ReportOutcomes(ctx(t), []accounting.OutcomeReport{r})
		must(t, err)
		wantOutcome(t, outs[0], status, code)
	}
	for id, r := range reports {
		report(t, id, r, accounting.OutcomeRecorded, "")
	}

	// Days 2..15 settle daily; day 1's reports stay revisable until the
	// snapshot (Bank2 revises and takes the revision back).
	for n := first.Number + 1; n <= first.Number+days; n++ {
		nextDay(t)
		settleAll(t, reg, n-1, 0)
		if n == first.Number+1 {
			revised := reports[b2]
			revised.Confirmed, revised.Wrong = 2, 8
			report(t, b2, revised, accounting.OutcomeRecorded, "")
			report(t, b2, reports[b2], accounting.OutcomeRecorded, "")
		}
	}
	last := first.Number + days - 1
	snap, err := reg.TakeSnapshotRange(ctx(t), first.Number, last)
	must(t, err)
	if len(snap.Flagged) > 0 {
		_, err := reg.MarkPaid(ctx(t), snap.Period)
		must(t, err)
	}

	t.Run("AdversaryReportAfterSnapshot", func(t *testing.T) {
		late := reports[b1]
		late.Confirmed, late.Wrong = 10, 0
		report(t, b1, late, accounting.OutcomeRejected, chaincode.CodePeriodClosed)
	})

	t.Run("FactorOutlivesTheLookBack", func(t *testing.T) {
		// The window of 31 days ending at the snapshot's last day; the
		// requesters' rates 9000, 8000 and 5000 put Bank3 in tier 1 at the
		// median.
		from := uint64(1)
		if last > uint64(policy.Window) {
			from = last - uint64(policy.Window) + 1
		}
		var p *accounting.Period
		for range days {
			p = nextDay(t)
			f, ok := p.Factors[chaincode.FactorKey(Bank3MSP, q)]
			if !ok || f.Tier != 1 || f.Multiplier != 5000 || f.Confirmation.BP != 8000 || f.From != from || f.To != last {
				t.Fatalf("day %d (%d after the snapshot's last): factor %+v, found %v", p.Number, p.Number-last, f, ok)
			}
		}
		half, ok := p.Price(q, accounting.ModeCatalog, Bank3MSP)
		if !ok || half != price/2 {
			t.Fatalf("day %d: Bank3's price %d, %v; want %d", p.Number, half, ok, price/2)
		}
		s.billsOnlyAt(t, b1, b3, q, p.Number, half, price)
	})

	must(t, reg.SetQualityPolicy(ctx(t), *chaincode.DefaultQualityPolicy()))
	must(t, reg.SetRoles(ctx(t), RegulatorMSP, []accounting.Role{accounting.RoleAuditor}))
}
