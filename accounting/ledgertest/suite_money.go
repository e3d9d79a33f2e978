package ledgertest

import (
	"bytes"
	"errors"
	"fmt"
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
	payAll(t, reg)

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

// payAll marks paid every snapshot that left an institution flagged.
func payAll(t *testing.T, reg accounting.Ledger) {
	t.Helper()
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

// moneyCycle plays the daily-settle, monthly-snapshot cycle: three periods
// ("days") each settled on its own, a reversal of a settled one, then one
// snapshot over the three, its payment instructions and the payment that
// lifts the flag it left. It plays the refusals a careless or dishonest
// caller meets: a member taking the snapshot, recording payments or
// marking paid; a range that is reversed, too long, leaves a gap after the
// previous snapshot, holds an unsettled period or overlaps a snapshot; a
// digest of other bytes; a snapshot paid twice. Between the days it reads
// the regulator's consortium view.
func (s *scenario) moneyCycle(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	m := s.category("money")
	must(t, reg.SetPrice(ctx(t), m, 2))
	// Start right after a snapshot, with nothing flagged.
	first := openAfterSnapshot(t, reg)
	payAll(t, reg)

	// bill records an entry of day p; the days the snapshot covers add it
	// to net, what the snapshot must hold.
	net := map[string]int64{}
	bill := func(req, resp *Identity, p *accounting.Period, count uint32, covered bool) accounting.Entry {
		t.Helper()
		price, ok := p.Price(m, accounting.ModeCatalog, resp.MSPID)
		if !ok {
			t.Fatalf("period %d has no price for %s", p.Number, m)
		}
		e := s.entry(t, req, resp, m, p.Number, count, price, entryOpts{})
		s.recordOK(t, resp, e)
		if covered {
			net[req.MSPID] -= e.Amount
			net[resp.MSPID] += e.Amount
		}
		return e
	}
	// nextDay rolls over and closes the day that ends; settle settles it.
	nextDay := func() *accounting.Period {
		t.Helper()
		p, err := reg.Rollover(ctx(t))
		must(t, err)
		must(t, reg.ClosePeriod(ctx(t), p.Number-1))
		return p
	}

	d1 := first
	bill(b1, b2, d1, 10, true)
	reversed := bill(b3, b2, d1, 3, true)
	d2 := nextDay()
	settleAll(t, reg, d1.Number, 0)
	late := bill(b2, b3, d2, 4, true)
	bill(b1, b3, d2, 5, true)
	// A reversal after its day settled: the day's net and the balances
	// move, and the snapshot takes the corrected net.
	s.reverseOK(t, b3, keyOf(t, reversed))
	net[Bank3MSP] += reversed.Amount
	net[Bank2MSP] -= reversed.Amount
	d3 := nextDay()
	settleAll(t, reg, d2.Number, 0)
	bill(b3, b1, d3, 2, true)
	d4 := nextDay()
	unsettled := bill(b1, b2, d4, 1, false)
	must(t, b2.Ledger.ReportBacklog(ctx(t), d4.Number, 2))

	s.consortiumView(t, d3.Number, d4.Number, unsettled.Amount)
	must(t, b2.Ledger.ReportBacklog(ctx(t), d4.Number, 0))

	_, err := b1.Ledger.TakeSnapshotRange(ctx(t), d1.Number, d3.Number)
	wantErr(t, err, accounting.ErrForbidden)
	_, err = reg.TakeSnapshotRange(ctx(t), d1.Number, d3.Number) // d3 closed, not settled
	wantErr(t, err, accounting.ErrFailedPrecondition)
	_, err = reg.TakeSnapshotRange(ctx(t), d3.Number, d1.Number)
	wantErr(t, err, accounting.ErrInvalidArgument)
	_, err = reg.TakeSnapshotRange(ctx(t), d1.Number, d1.Number+chaincode.MaxSnapshotPeriods)
	wantErr(t, err, accounting.ErrInvalidArgument)
	settleAll(t, reg, d3.Number, 0)
	_, err = reg.TakeSnapshotRange(ctx(t), d2.Number, d3.Number) // d1 left behind
	wantErr(t, err, accounting.ErrFailedPrecondition)

	snap, err := reg.TakeSnapshotRange(ctx(t), d1.Number, d3.Number)
	must(t, err)
	if snap.Period != d1.Number || snap.Through != d3.Number || !slices.Equal(snap.Flagged, []string{Bank1MSP}) {
		t.Fatalf("snapshot %+v of days %d..%d, want Bank1 flagged", snap, d1.Number, d3.Number)
	}
	for _, id := range []string{Bank1MSP, Bank2MSP, Bank3MSP} {
		if snap.Balances[id] != net[id] {
			t.Fatalf("snapshot balances %v, want the days' nets %v", snap.Balances, net)
		}
		acc, err := reg.Account(ctx(t), id)
		must(t, err)
		wantUnpaid := uint64(0)
		if id == Bank1MSP {
			wantUnpaid = d1.Number
		}
		if acc.Balance != 0 || acc.Flagged != (id == Bank1MSP) || acc.UnpaidSince != wantUnpaid {
			t.Fatalf("account after the snapshot %+v", acc)
		}
	}
	for _, n := range []uint64{d1.Number, d2.Number, d3.Number} {
		p, err := b2.Ledger.Period(ctx(t), n)
		must(t, err)
		got, err := b2.Ledger.Snapshot(ctx(t), n)
		must(t, err)
		if p.State != accounting.PeriodSnapshotted || p.Snapshot != d1.Number || got.Period != d1.Number || got.Through != d3.Number {
			t.Fatalf("day %d: %s in snapshot %d; its snapshot %d..%d", n, p.State, p.Snapshot, got.Period, got.Through)
		}
	}
	// No overlap, no reversal of a covered day.
	_, err = reg.TakeSnapshotRange(ctx(t), d3.Number, d3.Number)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	_, err = reg.TakeSnapshot(ctx(t), d2.Number)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	wantErr(t, b2.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, keyOf(t, late), accounting.VerdictUpheld)), accounting.ErrPeriodClosed)

	s.payments(t, snap, d2.Number)

	_, err = b1.Ledger.MarkPaid(ctx(t), d1.Number)
	wantErr(t, err, accounting.ErrForbidden)
	paid, err := reg.MarkPaid(ctx(t), d3.Number) // any covered day names the snapshot
	must(t, err)
	if paid.Period != d1.Number || paid.PaidTxID == "" {
		t.Fatalf("paid snapshot %+v", paid)
	}
	_, err = reg.MarkPaid(ctx(t), d1.Number)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	acc, err := reg.Account(ctx(t), Bank1MSP)
	must(t, err)
	if acc.Flagged || acc.UnpaidSince != 0 {
		t.Fatalf("Bank1 after the payment %+v", acc)
	}
}

// payments checks the snapshot's payment instructions: the netting the
// contract documents, the digest only the regulator records and only of
// those exact bytes, and a member's check of the file it received.
func (s *scenario) payments(t *testing.T, snap *accounting.Snapshot, covered uint64) {
	reg := s.h.Regulator.Ledger
	csv, digest, got, err := accounting.PaymentInstructions(ctx(t), s.h.Bank3.Ledger, covered)
	must(t, err)
	// Bank1 owes; the larger creditor is paid first (both owed by Bank1).
	b2, b3 := snap.Balances[Bank2MSP], snap.Balances[Bank3MSP]
	payees := []string{Bank3MSP, Bank2MSP}
	if b2 > b3 {
		payees, b2, b3 = []string{Bank2MSP, Bank3MSP}, b3, b2
	}
	want := fmt.Sprintf("snapshot,through,payer,payee,amount\n%[1]d,%[2]d,Bank1MSP,%[3]s,%[5]d\n%[1]d,%[2]d,Bank1MSP,%[4]s,%[6]d\n",
		snap.Period, snap.Through, payees[0], payees[1], b3, b2)
	if string(csv) != want || got.Period != snap.Period || b2 <= 0 || snap.Balances[Bank1MSP] != -(b2+b3) {
		t.Fatalf("payment instructions of %+v:\n%s\nwant:\n%s", snap, csv, want)
	}
	again, _, _, err := accounting.PaymentInstructions(ctx(t), reg, snap.Period)
	must(t, err)
	if !bytes.Equal(again, csv) {
		t.Fatal("a second export differs")
	}

	_, err = s.h.Bank1.Ledger.RecordPayments(ctx(t), covered, digest[:])
	wantErr(t, err, accounting.ErrForbidden)
	other := chaincode.PaymentsDigest(append(slices.Clone(csv), "9,9,Bank2MSP,Bank1MSP,1\n"...))
	_, err = reg.RecordPayments(ctx(t), covered, other[:])
	wantErr(t, err, accounting.ErrInvalidArgument)
	_, err = reg.RecordPayments(ctx(t), covered, digest[:31])
	wantErr(t, err, accounting.ErrInvalidArgument)
	_, err = accounting.CheckPayments(ctx(t), s.h.Bank1.Ledger, covered, csv)
	wantErr(t, err, accounting.ErrPaymentsMismatch) // nothing recorded yet
	rec, err := reg.RecordPayments(ctx(t), covered, digest[:])
	must(t, err)
	if !bytes.Equal(rec.Payments, digest[:]) || rec.PaymentsTxID == "" {
		t.Fatalf("recorded payments %+v", rec)
	}
	// The same digest again (a retried submission) changes nothing.
	retried, err := reg.RecordPayments(ctx(t), snap.Period, digest[:])
	must(t, err)
	if retried.PaymentsTxID != rec.PaymentsTxID {
		t.Fatalf("re-recording moved the record to %s", retried.PaymentsTxID)
	}
	_, err = reg.RecordPayments(ctx(t), covered, other[:])
	wantErr(t, err, accounting.ErrInvalidArgument)

	_, err = accounting.CheckPayments(ctx(t), s.h.Bank1.Ledger, covered, csv)
	must(t, err)
	// A file altered on its way to a member: another payer, an amount, a
	// line dropped or swapped, other line ends.
	lines := bytes.SplitAfter(csv, []byte("\n"))
	for name, forged := range map[string][]byte{
		"payer":     bytes.Replace(csv, []byte(",Bank1MSP,"), []byte(",Bank2MSP,"), 1),
		"amount":    append(bytes.TrimSuffix(csv, []byte("\n")), "0\n"...),
		"dropped":   bytes.Join(lines[:2], nil),
		"swapped":   bytes.Join([][]byte{lines[0], lines[2], lines[1]}, nil),
		"crlf":      bytes.ReplaceAll(csv, []byte("\n"), []byte("\r\n")),
		"no header": bytes.Join(lines[1:], nil),
	} {
		if _, err := accounting.CheckPayments(ctx(t), s.h.Bank1.Ledger, covered, forged); !errors.Is(err, accounting.ErrPaymentsMismatch) {
			t.Fatalf("forged file (%s) checked: %v", name, err)
		}
	}
}

// consortiumView checks the regulator's view while day closed is closed
// (no provider reported: all three missing) and day open is open with
// Bank2 reporting 2 entries pending and Bank1 billed spent unsettled.
func (s *scenario) consortiumView(t *testing.T, closed, open uint64, spent int64) {
	v, err := accounting.ReadConsortiumView(ctx(t), s.h.Regulator.Ledger)
	must(t, err)
	want := []accounting.PeriodStatus{{Number: open, State: accounting.PeriodOpen}, {Number: closed, State: accounting.PeriodClosed}}
	if v.Current != open || !slices.Equal(v.Periods, want) {
		t.Fatalf("view of periods %d %+v, want %+v", v.Current, v.Periods, want)
	}
	exposures, err := s.h.Regulator.Ledger.Exposures(ctx(t))
	must(t, err)
	if len(v.Members) != len(exposures) {
		t.Fatalf("%d members in the view, %d exposures", len(v.Members), len(exposures))
	}
	seen := 0
	for i, mv := range v.Members {
		if mv.Exposure != exposures[i] {
			t.Fatalf("view of %s: %+v, exposure %+v", mv.MSPID, mv.Exposure, exposures[i])
		}
		var wantU []accounting.Backlog
		switch mv.MSPID {
		case Bank2MSP:
			wantU = append(wantU, accounting.Backlog{MSPID: Bank2MSP, Period: open, Pending: 2})
			fallthrough
		case Bank1MSP, Bank3MSP:
			seen++
			wantU = append(wantU, accounting.Backlog{MSPID: mv.MSPID, Period: closed, Missing: true})
		default:
			continue
		}
		if len(mv.Undrained) != len(wantU) {
			t.Fatalf("undrained of %s: %+v, want %+v", mv.MSPID, mv.Undrained, wantU)
		}
		for j, u := range mv.Undrained {
			if u.MSPID != wantU[j].MSPID || u.Period != wantU[j].Period || u.Pending != wantU[j].Pending || u.Missing != wantU[j].Missing {
				t.Fatalf("undrained of %s: %+v, want %+v", mv.MSPID, mv.Undrained, wantU)
			}
		}
		if mv.MSPID == Bank1MSP && mv.Unsettled != spent {
			t.Fatalf("Bank1's unsettled spend %d misses the %d of day %d", mv.Unsettled, spent, open)
		}
	}
	if seen != 3 {
		t.Fatalf("%d of the 3 banks in the view", seen)
	}
}
