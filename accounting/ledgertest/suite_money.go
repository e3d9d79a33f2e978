package ledgertest

import (
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// The steps of the scenario that play a dishonest member against the money
// rules: exposure during a period, bills that survive suspension, backlog
// reports that gate the close, flags that last until a snapshot is paid,
// and a Record batch counted before it is decoded.

// exposure checks that the ledger counts every institution's unsettled
// spend as entries record, summed over the providers that billed it and
// reduced by reversals, so a provider can refuse a requester past its limit
// during the period. It first marks paid any snapshot an earlier run left
// unpaid, so that flags reflect this run only.
func (s *scenario) exposure(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b1, b3 := &s.h.Bank1, &s.h.Bank3
	accounts, err := reg.Accounts(ctx(t))
	must(t, err)
	for _, a := range accounts {
		for a.UnpaidSince != 0 {
			_, err := reg.MarkPaid(ctx(t), a.UnpaidSince)
			must(t, err)
			next, err := reg.Account(ctx(t), a.MSPID)
			must(t, err)
			a = *next
		}
	}

	want := map[string]int64{}
	for _, k := range s.keys {
		e, err := reg.Entry(ctx(t), k)
		must(t, err)
		if e.Reversal == nil {
			want[k.Requester] += e.Amount
		}
	}
	s.wantExposures(t, want)

	// A second provider billing the same requester adds to the same
	// exposure (its own spent key), and a reversal takes the amount off.
	a := s.category("a")
	e := s.entry(t, b1, b3, a, s.period, 7, priceA, entryOpts{})
	s.recordOK(t, b3, e)
	want[Bank1MSP] += e.Amount
	s.wantExposures(t, want)
	s.reverseOK(t, b1, keyOf(t, e))
	want[Bank1MSP] -= e.Amount
	s.wantExposures(t, want)
	// A duplicate adds nothing.
	outs, err := b3.Ledger.Record(ctx(t), []accounting.Entry{e})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeDuplicate, "")
	s.wantExposures(t, want)
}

// wantExposures checks the unsettled spend and headroom of the scenario's
// banks; only the scenario's period is unsettled at this point.
func (s *scenario) wantExposures(t *testing.T, unsettled map[string]int64) {
	t.Helper()
	got, err := s.h.Bank2.Ledger.Exposures(ctx(t))
	must(t, err)
	seen := 0
	for _, x := range got {
		if x.MSPID != Bank1MSP && x.MSPID != Bank2MSP && x.MSPID != Bank3MSP {
			continue
		}
		seen++
		acc, err := s.h.Bank2.Ledger.Account(ctx(t), x.MSPID)
		must(t, err)
		if x.Unsettled != unsettled[x.MSPID] || x.Balance != acc.Balance || x.Limit != acc.Limit ||
			x.Headroom != acc.Balance+acc.Limit-unsettled[x.MSPID] || x.Flagged != acc.Flagged {
			t.Fatalf("exposure %+v, want unsettled %d over account %+v", x, unsettled[x.MSPID], acc)
		}
	}
	if seen != 3 {
		t.Fatalf("%d of the 3 banks in the exposures", seen)
	}
}

// recordSuspended plays a provider billing a requester that was suspended:
// an answer of the period the suspension took effect in was given while
// the requester was active (or before every provider could see the
// change) and still records, during the period and after it closed into
// grace; the requester's entries of a later period are refused. Removing
// the requester role works the same way. It also plays the backlog reports
// that ClosePeriod reads.
func (s *scenario) recordSuspended(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	a := s.category("a")
	cur, err := reg.Period(ctx(t), 0)
	must(t, err)
	c := cur.Number

	must(t, reg.SuspendInstitution(ctx(t), Bank3MSP))
	must(t, reg.SetRoles(ctx(t), Bank1MSP, []accounting.Role{accounting.RoleProvider}))
	got, err := reg.Institution(ctx(t), Bank3MSP)
	must(t, err)
	if got.Status != accounting.StatusSuspended || got.SuspendedIn != c {
		t.Fatalf("after suspension in period %d: %s, suspended in %d", c, got.Status, got.SuspendedIn)
	}
	// Answers of the suspension's period still bill.
	s.recordOK(t, b2, s.entry(t, b3, b2, a, c, 1, priceA2, entryOpts{}), s.entry(t, b1, b2, a, c, 1, priceA2, entryOpts{}))
	// Signed in period c, recorded after the period moved into grace.
	lateSuspended := s.entry(t, b3, b2, a, c, 2, priceA2, entryOpts{})
	lateRemoved := s.entry(t, b1, b2, a, c, 2, priceA2, entryOpts{})
	next, err := reg.Rollover(ctx(t))
	must(t, err)
	outs, err := b2.Ledger.Record(ctx(t), []accounting.Entry{
		lateSuspended, lateRemoved,
		s.entry(t, b3, b2, a, next.Number, 1, priceA2, entryOpts{}),
		s.entry(t, b1, b2, a, next.Number, 1, priceA2, entryOpts{}),
	})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
	wantOutcome(t, outs[1], accounting.OutcomeRecorded, "")
	wantOutcome(t, outs[2], accounting.OutcomeRejected, chaincode.CodeInactive)
	wantOutcome(t, outs[3], accounting.OutcomeRejected, chaincode.CodeInactive)
	// A suspended provider still reports the backlog of its period.
	must(t, b3.Ledger.ReportBacklog(ctx(t), c, 0))

	must(t, reg.ReactivateInstitution(ctx(t), Bank3MSP))
	must(t, reg.SetRoles(ctx(t), Bank1MSP, []accounting.Role{accounting.RoleProvider, accounting.RoleRequester}))
	got, err = reg.Institution(ctx(t), Bank1MSP)
	must(t, err)
	if got.SuspendedIn != 0 || got.RolesRemovedIn != nil {
		t.Fatalf("restored Bank1 keeps %d / %v", got.SuspendedIn, got.RolesRemovedIn)
	}
	s.recordOK(t, b2, s.entry(t, b3, b2, a, next.Number, 1, priceA2, entryOpts{}))

	s.backlogs(t, c)
}

// backlogs plays providers reporting the entries of period c (in grace)
// that their journals still hold: the close waits for them, a provider
// cannot report for another or outside the period's life, and a forced
// close keeps what was not drained on the period record.
func (s *scenario) backlogs(t *testing.T, c uint64) {
	reg := s.h.Regulator.Ledger
	b1, b2 := &s.h.Bank1, &s.h.Bank2
	wantErr(t, s.h.Regulator.Ledger.ReportBacklog(ctx(t), c, 1), accounting.ErrForbidden) // auditor only
	wantErr(t, b2.Ledger.ReportBacklog(ctx(t), c+1000, 1), accounting.ErrNotFound)
	must(t, b2.Ledger.ReportBacklog(ctx(t), c, 3))
	must(t, b1.Ledger.ReportBacklog(ctx(t), c, 0))
	wantErr(t, reg.ClosePeriod(ctx(t), c), accounting.ErrFailedPrecondition)
	wantErr(t, b1.Ledger.ForceClosePeriod(ctx(t), c), accounting.ErrForbidden)
	reports, err := b1.Ledger.Backlogs(ctx(t), c)
	must(t, err)
	if len(reports) != 3 || reports[1].MSPID != Bank2MSP || reports[1].Pending != 3 || reports[1].TxID == "" {
		t.Fatalf("reports %+v", reports)
	}
	// Drained: the close goes through.
	must(t, b2.Ledger.ReportBacklog(ctx(t), c, 0))
	must(t, reg.ClosePeriod(ctx(t), c))
	wantErr(t, b2.Ledger.ReportBacklog(ctx(t), c, 0), accounting.ErrFailedPrecondition)
	p, err := reg.Period(ctx(t), c)
	must(t, err)
	if len(p.Undrained) != 0 { // Bank3, suspended while the others reported, reported too
		t.Fatalf("undrained %+v", p.Undrained)
	}

	// A provider that never drains holds the close only until the
	// regulator forces it, and the forced close keeps its report.
	next, err := reg.Rollover(ctx(t))
	must(t, err)
	must(t, b2.Ledger.ReportBacklog(ctx(t), next.Number-1, 5))
	wantErr(t, reg.ClosePeriod(ctx(t), next.Number-1), accounting.ErrFailedPrecondition)
	must(t, reg.ForceClosePeriod(ctx(t), next.Number-1))
	p, err = reg.Period(ctx(t), next.Number-1)
	must(t, err)
	var names []string
	for _, u := range p.Undrained {
		names = append(names, u.MSPID)
		if (u.MSPID == Bank2MSP) != (u.Pending == 5 && !u.Missing) {
			t.Fatalf("undrained %+v", p.Undrained)
		}
	}
	if !slices.Equal(names, []string{Bank2MSP, Bank1MSP, Bank3MSP}) {
		t.Fatalf("undrained providers %v, want Bank2 (pending), Bank1 and Bank3 (no report)", names)
	}
}

// recordBatchBound sends one entry more than a batch may hold: refused
// whole, before any entry is looked at.
func (s *scenario) recordBatchBound(t *testing.T) {
	_, err := s.h.Bank2.Ledger.Record(ctx(t), make([]accounting.Entry, chaincode.MaxBatch+1))
	wantErr(t, err, accounting.ErrInvalidArgument)
}

// markPaid checks that the snapshot left Bank1 (past its limit of 0)
// flagged, that only the regulator lifts the flag, once, by recording the
// snapshot paid.
func (s *scenario) markPaid(t *testing.T) {
	reg := s.h.Regulator.Ledger
	acc, err := reg.Account(ctx(t), Bank1MSP)
	must(t, err)
	if !acc.Flagged || acc.Balance != 0 || acc.UnpaidSince != s.period {
		t.Fatalf("Bank1 after the snapshot: %+v, want flagged, unpaid since %d", acc, s.period)
	}
	_, err = s.h.Bank1.Ledger.MarkPaid(ctx(t), s.period)
	wantErr(t, err, accounting.ErrForbidden)
	_, err = reg.MarkPaid(ctx(t), s.period+1000)
	wantErr(t, err, accounting.ErrNotFound)
	snap, err := reg.MarkPaid(ctx(t), s.period)
	must(t, err)
	if snap.PaidTxID == "" || !slices.Contains(snap.Flagged, Bank1MSP) {
		t.Fatalf("paid snapshot %+v", snap)
	}
	_, err = reg.MarkPaid(ctx(t), s.period)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	accounts, err := reg.Accounts(ctx(t))
	must(t, err)
	for _, a := range accounts {
		if a.Flagged {
			t.Fatalf("account %+v still flagged after the snapshot was paid", a)
		}
	}
}
