package chaincode

import (
	"fmt"
	"strings"
)

// Backlogs: each provider reports on the ledger how many entries of a
// period its journal still holds, so that closing the period, which ends
// its records for good, sees the bills not yet recorded without asking
// every institution. A report is the provider's own key; only it writes
// it, and ClosePeriod reads them all.

// maxBacklogNames bounds the providers a refused close names.
const maxBacklogNames = 8

// reportBacklog stores the caller's backlog report for a period that still
// takes records (open or in grace). The caller must be billable as a
// provider in that period: a provider suspended since still reports the
// bills it holds for answers given before.
func (c *Contract) reportBacklog(st State, arg []byte) (any, error) {
	var a Backlog
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if a.Missing || a.TxID != "" {
		return nil, newError(CodeInvalidArgument, "missing and txId are the ledger's to set")
	}
	inst, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	if a.MSPID != "" && a.MSPID != inst.MSPID {
		return nil, newError(CodeForbidden, "an institution reports only its own backlog")
	}
	if err := inst.billableIn(RoleProvider, a.Period); err != nil {
		return nil, newError(CodeForbidden, "only a provider of the period reports a backlog: "+err.Error())
	}
	if _, err := loadPeriodIn(st, a.Period, "a backlog report", PeriodOpen, PeriodGrace); err != nil {
		return nil, err
	}
	a.MSPID, a.TxID = inst.MSPID, st.TxID()
	return nil, putJSON(st, backlogKey(a.Period, a.MSPID), &a)
}

// backlogs returns the reports of a period in key (MSP id) order.
func backlogs(st State, period uint64) ([]Backlog, error) {
	prefix := prefixBacklog + num(period) + "/"
	out := []Backlog{}
	err := scan(st, prefix, rangeEnd(prefix), func(k string, v []byte) (bool, error) {
		var b Backlog
		if err := decodeStored(k, v, &b); err != nil {
			return false, err
		}
		out = append(out, b)
		return true, nil
	})
	return out, err
}

func (c *Contract) listBacklogs(st State, arg []byte) (any, error) {
	var a PeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	return backlogs(st, a.Period)
}

// undrained returns the reports of period that still count pending
// entries, and a Missing report for each active provider that has not
// reported, in MSP id order.
func undrained(st State, period uint64) (pending, missing []Backlog, err error) {
	reports, err := backlogs(st, period)
	if err != nil {
		return nil, nil, err
	}
	reported := map[string]bool{}
	for _, b := range reports {
		reported[b.MSPID] = true
		if b.Pending > 0 {
			pending = append(pending, b)
		}
	}
	err = scan(st, prefixInst, rangeEnd(prefixInst), func(k string, v []byte) (bool, error) {
		var inst Institution
		if err := decodeStored(k, v, &inst); err != nil {
			return false, err
		}
		if inst.Status == StatusActive && inst.HasRole(RoleProvider) && !reported[inst.MSPID] {
			missing = append(missing, Backlog{MSPID: inst.MSPID, Period: period, Missing: true})
		}
		return true, nil
	})
	return pending, missing, err
}

// describeBacklogs names at most maxBacklogNames providers and their counts.
func describeBacklogs(bs []Backlog) string {
	var b strings.Builder
	for i, r := range bs {
		if i == maxBacklogNames {
			fmt.Fprintf(&b, " and %d more", len(bs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d pending)", r.MSPID, r.Pending)
	}
	return b.String()
}

// listUndrained returns what a period may still lose, for the regulator's
// view of the consortium: while the period takes records, the reports
// counting pending entries and, once it is in grace (when providers
// report), a Missing report for each active provider that has not
// reported; after its close, what the close kept (Period.Undrained).
func (c *Contract) listUndrained(st State, arg []byte) (any, error) {
	var a PeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	p, err := loadPeriod(st, a.Period)
	if err != nil {
		return nil, err
	}
	switch p.State {
	case PeriodOpen, PeriodGrace:
		pending, missing, err := undrained(st, p.Number)
		if err != nil {
			return nil, err
		}
		if p.State == PeriodGrace {
			pending = append(pending, missing...)
		}
		return append([]Backlog{}, pending...), nil
	default:
		return append([]Backlog{}, p.Undrained...), nil
	}
}
