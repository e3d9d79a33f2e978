package accounting

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/chaincode"
)

// The off-chain side of the money cycle (docs/ledger.md, "The money
// cycle"): the payment instructions of a snapshot, and the regulator's view
// of what every member owes during a period.

// snapshotReader is the one query the payment instructions need.
type snapshotReader interface {
	Snapshot(ctx context.Context, period uint64) (*Snapshot, error)
}

// PaymentInstructions reads the snapshot covering period and returns its
// payment instructions file (chaincode.PaymentsCSV), the file's digest
// (chaincode.PaymentsDigest) and the snapshot. Every call for a snapshot
// returns the same bytes.
func PaymentInstructions(ctx context.Context, l snapshotReader, period uint64) ([]byte, [chaincode.HashSize]byte, *Snapshot, error) {
	snap, err := l.Snapshot(ctx, period)
	if err != nil {
		return nil, [chaincode.HashSize]byte{}, nil, err
	}
	csv, err := chaincode.PaymentsCSV(snap)
	if err != nil {
		return nil, [chaincode.HashSize]byte{}, nil, fmt.Errorf("%w: snapshot %d: %v", ErrBadResult, snap.Period, err)
	}
	return csv, chaincode.PaymentsDigest(csv), snap, nil
}

// CheckPayments checks that file is the payment instructions the ledger
// recorded for the snapshot covering period, as a member does before it
// pays or expects to be paid: ErrPaymentsMismatch if its digest is not the
// recorded one, or if none is recorded yet.
func CheckPayments(ctx context.Context, l snapshotReader, period uint64, file []byte) (*Snapshot, error) {
	snap, err := l.Snapshot(ctx, period)
	if err != nil {
		return nil, err
	}
	if snap.Payments == nil {
		return nil, fmt.Errorf("%w: snapshot %d has no payment instructions recorded yet", ErrPaymentsMismatch, snap.Period)
	}
	d := chaincode.PaymentsDigest(file)
	if subtle.ConstantTimeCompare(d[:], snap.Payments) != 1 {
		return nil, fmt.Errorf("%w: snapshot %d", ErrPaymentsMismatch, snap.Period)
	}
	return snap, nil
}

// ConsortiumView is the regulator's view of every member during the
// periods not settled yet: what each owes, may still spend, and may still
// lose in bills its journal has not recorded.
type ConsortiumView struct {
	// Current is the current period; Periods are the unsettled ones
	// (open, grace, closed, settling), newest first.
	Current uint64         `json:"current"`
	Periods []PeriodStatus `json:"periods"`
	Members []MemberView   `json:"members"`
}

// PeriodStatus is one unsettled period of a ConsortiumView.
type PeriodStatus struct {
	Number uint64      `json:"number"`
	State  PeriodState `json:"state"`
}

// MemberView is one member's line of a ConsortiumView: its exposure
// (settled balance, limit, unsettled spend, headroom, flag) and, for each
// unsettled period, what Undrained reports of it.
type MemberView struct {
	Exposure
	Undrained []Backlog `json:"undrained,omitempty"`
}

// viewLedger is what ReadConsortiumView queries.
type viewLedger interface {
	Period(ctx context.Context, n uint64) (*Period, error)
	Exposures(ctx context.Context) ([]Exposure, error)
	Undrained(ctx context.Context, period uint64) ([]Backlog, error)
}

// ReadConsortiumView reads the view: the members' exposures (ListExposures)
// and what each unsettled period may still lose (ListUndrained), from the
// current period back to the newest settled one. Reads are queries, so the
// parts may come from ledgers a few blocks apart.
func ReadConsortiumView(ctx context.Context, l viewLedger) (*ConsortiumView, error) {
	exposures, err := l.Exposures(ctx)
	if err != nil {
		return nil, err
	}
	v := &ConsortiumView{Periods: []PeriodStatus{}, Members: make([]MemberView, len(exposures))}
	line := make(map[string]*MemberView, len(exposures))
	for i, x := range exposures {
		v.Members[i] = MemberView{Exposure: x}
		line[x.MSPID] = &v.Members[i]
	}
	cur, err := l.Period(ctx, 0)
	if errors.Is(err, ErrNotFound) { // no period opened yet
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	v.Current = cur.Number
	for n := cur.Number; n > 0; n-- {
		p := cur
		if n != cur.Number {
			if p, err = l.Period(ctx, n); err != nil {
				return nil, err
			}
		}
		if p.State == PeriodSettled || p.State == PeriodSnapshotted {
			break
		}
		v.Periods = append(v.Periods, PeriodStatus{Number: p.Number, State: p.State})
		reports, err := l.Undrained(ctx, p.Number)
		if err != nil {
			return nil, err
		}
		for _, b := range reports {
			if m := line[b.MSPID]; m != nil {
				m.Undrained = append(m.Undrained, b)
			}
		}
	}
	return v, nil
}
