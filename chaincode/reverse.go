package chaincode

import (
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

type reverseEvent struct {
	TxID    string   `json:"txId"`
	Key     EntryKey `json:"key"`
	Auditor string   `json:"auditor"`
	Amount  int64    `json:"amount"`
}

// reverse invalidates an entry's charge. The entry's requester submits it
// with an endorsement: an active institution holding the auditor role, not a
// party to the entry, signed EndorsementDigest(key, VerdictUpheld).
//
// Allowed until the entry's period is snapshotted. Depending on how far
// settlement has gone, the reversal is accounted where it will be counted
// exactly once:
//   - open, grace, closed, or settling but not yet past this key: the mark on
//     the entry is enough, settlement skips reversed entries;
//   - settling and already past this key: the period's running net changes
//     are corrected;
//   - settled: the period's net changes and both balances are corrected
//     (the requester gets the amount back, the responder gives it up).
func (c *Contract) reverse(st State, arg []byte) (any, error) {
	var a Reverse
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if err := a.Key.Validate(); err != nil {
		return nil, err
	}
	digest, err := EndorsementDigest(a.Key, a.Verdict)
	if err != nil {
		return nil, err
	}
	if a.Verdict != VerdictUpheld {
		return nil, newError(CodeForbidden, "the endorsement's verdict does not reverse the entry")
	}
	if len(a.Signature) == 0 || len(a.Signature) > ecsig.MaxSignatureSize {
		return nil, newError(CodeInvalidArgument, "endorsement signature missing or too long")
	}
	caller, err := st.Caller()
	if err != nil {
		return nil, err
	}
	if caller != a.Key.Requester {
		return nil, newError(CodeForbidden, "only the entry's requester reverses it")
	}
	if a.Auditor == a.Key.Requester || a.Auditor == a.Key.Responder {
		return nil, newError(CodeForbidden, "the auditor must not be a party to the entry")
	}
	skey := a.Key.String()
	var e RecordedEntry
	ok, err := getJSON(st, skey, &e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, "no entry under this key")
	}
	if e.Reversal != nil {
		return nil, newError(CodeAlreadyReversed, "the entry was reversed in transaction "+e.Reversal.TxID)
	}
	p, err := loadPeriod(st, a.Key.Period)
	if err != nil {
		return nil, err
	}
	if p.State == PeriodSnapshotted {
		return nil, newError(CodePeriodClosed, fmt.Sprintf("period %d is snapshotted", p.Number))
	}
	auditor, err := loadInstitution(st, a.Auditor)
	if err != nil {
		return nil, err
	}
	if !auditor.HasRole(RoleAuditor) {
		return nil, newError(CodeForbidden, fmt.Sprintf("%s does not hold the auditor role", a.Auditor))
	}
	if auditor.Status != StatusActive {
		return nil, newError(CodeInactive, fmt.Sprintf("auditor %s is suspended", a.Auditor))
	}
	// The endorsement was made after the entry, under a key valid then.
	keys := auditor.SigningKeysSince(a.Key.Period)
	if len(keys) == 0 {
		return nil, newError(CodeInactive, fmt.Sprintf("auditor %s has no signing key", a.Auditor))
	}
	if ecsig.VerifyAny(keys, digest[:], a.Signature) != nil {
		return nil, newError(CodeBadSignature, "endorsement signature does not verify")
	}

	switch {
	case p.State == PeriodSettling && skey <= p.Cursor:
		if err := reverseNet(st, p, &e); err != nil {
			return nil, err
		}
	case p.State == PeriodSettled:
		if err := reverseNet(st, p, &e); err != nil {
			return nil, err
		}
		if _, err := addBalance(st, e.Key.Requester, e.Amount); err != nil {
			return nil, err
		}
		if _, err := addBalance(st, e.Key.Responder, -e.Amount); err != nil {
			return nil, err
		}
	}
	if p.State != PeriodSettled { // not in the balances yet: the exposure counts it
		if err := addRefund(st, e.Key.Period, e.Key.Requester, e.Amount); err != nil {
			return nil, err
		}
	}
	if err := dropReport(st, &e); err != nil {
		return nil, err
	}
	e.Reversal = &Reversal{Auditor: a.Auditor, Verdict: a.Verdict, Signature: a.Signature, TxID: st.TxID()}
	if err := putJSON(st, skey, &e); err != nil {
		return nil, err
	}
	return nil, c.emit(st, EventReverse, &reverseEvent{TxID: st.TxID(), Key: e.Key, Auditor: a.Auditor, Amount: e.Amount})
}

// reverseNet undoes an already settled entry in the period's net changes and
// stores the period.
func reverseNet(st State, p *Period, e *RecordedEntry) error {
	if err := applyNet(p.Net, e.Key.Responder, e.Key.Requester, e.Amount); err != nil {
		return err
	}
	p.Reversed++
	return putJSON(st, periodKey(p.Number), p)
}
