package chaincode

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Snapshots carry the money cycle (docs/ledger.md, "The money cycle").
// Periods settle one by one, for example daily, into the balances; a
// snapshot, for example monthly, covers the settled periods that follow the
// previous snapshot, records what each institution owes or is owed over
// them, and takes that out of the balances. The regulator then exports the
// payment instructions (payments.go), records their digest
// (RecordPayments), and once the money has moved records the snapshot paid
// (MarkPaid), which lifts the overdraft flag the snapshot left on the
// debtors past their limit.
//
// A snapshot's id is its first period: snapshot/<first>. A one-period
// snapshot keeps the key and the record it had before snapshots covered
// ranges, and every covered period names its snapshot (Period.Snapshot), so
// any covered period finds it.

// snapshot covers the settled periods a.Period..a.Through. They must follow
// the previous snapshot without a gap (period a.Period-1 snapshotted), so
// that the balances, which hold every settled period, keep exactly the
// settled periods after the snapshot once its sums are taken out; a period
// in a snapshot is no longer settled, so two snapshots never overlap.
// Reversals stay allowed on a settled period until its snapshot and
// correct its net changes (reverse.go), so the sums are final. It reads the
// covered periods' records and the balance, limit and debt of each
// institution in their net changes: keys no record touches.
func (c *Contract) snapshot(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a SnapshotArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	first, last := a.Period, a.Through
	if last == 0 {
		last = first
	}
	if first == 0 || last < first || last-first >= MaxSnapshotPeriods {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a snapshot covers periods first..last, from period 1, at most %d of them", MaxSnapshotPeriods))
	}
	if first > 1 {
		if _, err := loadPeriodIn(st, first-1, fmt.Sprintf("a snapshot from period %d (no gap after the previous snapshot)", first), PeriodSnapshotted); err != nil {
			return nil, err
		}
	}
	snap := &Snapshot{Period: first, Through: last, Balances: map[string]int64{}, TxID: st.TxID()}
	periods := make([]*Period, 0, last-first+1)
	for i := uint64(0); i <= last-first; i++ {
		p, err := loadPeriodIn(st, first+i, "a snapshot", PeriodSettled)
		if err != nil {
			return nil, err
		}
		// In key order, so that an overflow fails alike on every endorser.
		for _, m := range slices.Sorted(maps.Keys(p.Net)) {
			if snap.Balances[m], err = addTokens(snap.Balances[m], p.Net[m]); err != nil {
				return nil, err
			}
		}
		periods = append(periods, p)
	}
	for _, m := range slices.Sorted(maps.Keys(snap.Balances)) {
		owed := snap.Balances[m]
		if owed == 0 {
			continue
		}
		acc, err := account(st, m)
		if err != nil {
			return nil, err
		}
		bal, err := subTokens(acc.Balance, owed)
		if err != nil {
			return nil, err
		}
		if err := putJSON(st, balanceKey(m), bal); err != nil {
			return nil, err
		}
		if owed < -acc.Limit {
			snap.Flagged = append(snap.Flagged, m)
			if err := updateDebt(st, m, func(d []uint64) []uint64 { return append(d, first) }); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range periods {
		p.State, p.Snapshot = PeriodSnapshotted, first
		if err := putJSON(st, periodKey(p.Number), p); err != nil {
			return nil, err
		}
	}
	return snap, putJSON(st, snapshotKey(first), snap)
}

// markPaid records that the balances of the snapshot covering a period
// were paid off-chain, which lifts the flag the snapshot left on the
// institutions it recorded past their limit. Regulator only, once per
// snapshot.
func (c *Contract) markPaid(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a PeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	snap, err := loadSnapshot(st, a.Period)
	if err != nil {
		return nil, err
	}
	if snap.PaidTxID != "" {
		return nil, newError(CodeFailedPrecondition, fmt.Sprintf("snapshot %d was marked paid in transaction %s", snap.Period, snap.PaidTxID))
	}
	for _, m := range snap.Flagged {
		err := updateDebt(st, m, func(d []uint64) []uint64 {
			return slices.DeleteFunc(d, func(n uint64) bool { return n == snap.Period })
		})
		if err != nil {
			return nil, err
		}
	}
	snap.PaidTxID = st.TxID()
	return snap, putJSON(st, snapshotKey(snap.Period), snap)
}

// recordPayments records the digest of the payment instructions of the
// snapshot covering a period. The contract derives the instructions from
// the snapshot itself, so the regulator can record only the digest of the
// one file every export produces: a digest of any other bytes is refused,
// and so is, once one is recorded, a different one (an export whose bytes
// changed). Recording the same digest again changes nothing, so a retried
// submission succeeds.
func (c *Contract) recordPayments(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a PaymentsArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if len(a.Digest) != HashSize {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("payments digest must be %d bytes", HashSize))
	}
	snap, err := loadSnapshot(st, a.Snapshot)
	if err != nil {
		return nil, err
	}
	csv, err := PaymentsCSV(snap)
	if err != nil {
		return nil, err
	}
	want := PaymentsDigest(csv)
	if !bytes.Equal(a.Digest, want[:]) {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("the digest is not the one of snapshot %d's payment instructions", snap.Period))
	}
	if snap.Payments != nil {
		if bytes.Equal(snap.Payments, want[:]) {
			return snap, nil
		}
		return nil, newError(CodeConflict, fmt.Sprintf("snapshot %d holds other payment instructions, recorded in transaction %s", snap.Period, snap.PaymentsTxID))
	}
	snap.Payments, snap.PaymentsTxID = want[:], st.TxID()
	return snap, putJSON(st, snapshotKey(snap.Period), snap)
}

func (c *Contract) getSnapshot(st State, arg []byte) (any, error) {
	var a PeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	return loadSnapshot(st, a.Period)
}

// loadSnapshot returns the snapshot covering period n, or a not_found
// error.
func loadSnapshot(st State, n uint64) (*Snapshot, error) {
	id := n
	var p Period
	ok, err := getJSON(st, periodKey(n), &p)
	if err != nil {
		return nil, err
	}
	if ok && p.Snapshot != 0 {
		id = p.Snapshot
	}
	var s Snapshot
	if ok, err = getJSON(st, snapshotKey(id), &s); err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, fmt.Sprintf("no snapshot covers period %d", n))
	}
	if s.Through == 0 {
		s.Through = s.Period
	}
	return &s, nil
}
