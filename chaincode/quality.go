package chaincode

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Outcome reports: a requester tells the ledger, per entry it was billed
// for, how many of the entry's hits its business confirmed, found wrong or
// could not resolve (docs/quality.md). Only the entry's requester reports,
// never a party on its own answers (an entry's requester is never its
// responder), only on a recorded entry that is not reversed, and only
// until the entry's period is snapshotted; until then a new report
// replaces the previous one.
//
// A report is stored under the requester's own report key and added to the
// requester's own summary key per (period, provider, category) (keys.go):
// reports of different requesters never conflict, and a score reads the
// summaries, never the reports.

// qsumGroup names one summary key.
type qsumGroup struct {
	period              uint64
	responder, category string
}

// sumDelta is a change to a QualitySum; revisions subtract.
type sumDelta struct {
	entries, items, confirmed, wrong, unknown int64
}

func (d *sumDelta) add(r *storedReport, sign int64) {
	d.entries += sign
	d.items += sign * int64(r.Items)
	d.confirmed += sign * int64(r.Confirmed)
	d.wrong += sign * int64(r.Wrong)
	d.unknown += sign * int64(r.Unknown)
}

// apply adds d to s; a result below zero means the stored summaries and
// reports disagree, which is corrupted state.
func (d *sumDelta) apply(s *QualitySum) error {
	for _, f := range []struct {
		v *uint64
		d int64
	}{{&s.Entries, d.entries}, {&s.Items, d.items}, {&s.Confirmed, d.confirmed}, {&s.Wrong, d.wrong}, {&s.Unknown, d.unknown}} {
		if f.d < 0 && uint64(-f.d) > *f.v {
			return newError(CodeInternal, "quality summary below zero")
		}
		*f.v += uint64(f.d)
	}
	return nil
}

// reportTx caches what one ReportOutcomes transaction reads more than once.
type reportTx struct {
	st      State
	caller  string
	periods map[uint64]*Period
	batch   map[string]*storedReport // reports written earlier in this batch
	deltas  map[qsumGroup]*sumDelta
}

// reportOutcomes stores a batch of the caller's outcome reports. Like
// Record, each report gets its own Outcome (recorded, duplicate when it
// repeats the stored report, or rejected with a code), so one entry
// reversed since the requester queued its report cannot block the others.
// It reads each entry, its period and its stored report, writes the
// report, and per (period, provider, category) of the batch reads and
// writes the caller's summary once, in key order.
func (c *Contract) reportOutcomes(st State, arg []byte) (any, error) {
	reports, err := decodeBatch[OutcomeReport](arg, "reports")
	if err != nil {
		return nil, err
	}
	caller, err := st.Caller()
	if err != nil {
		return nil, err
	}
	q := &reportTx{
		st: st, caller: caller,
		periods: map[uint64]*Period{},
		batch:   map[string]*storedReport{},
		deltas:  map[qsumGroup]*sumDelta{},
	}
	outcomes := make([]Outcome, len(reports))
	for i := range reports {
		o := &outcomes[i]
		o.Index, o.Key = i, reports[i].Key
		status, err := q.one(&reports[i])
		o.Status = status
		if err != nil {
			ce, ok := err.(*Error)
			if !ok || ce.Code == CodeInternal {
				return nil, err
			}
			o.Status, o.Code, o.Detail = OutcomeRejected, ce.Code, ce.Detail
		}
	}
	return outcomes, q.applySums()
}

// one checks and stores one report.
func (q *reportTx) one(r *OutcomeReport) (OutcomeStatus, error) {
	if err := r.Key.Validate(); err != nil {
		return "", err
	}
	if q.caller != r.Key.Requester {
		return "", newError(CodeForbidden, "only the entry's requester reports on it")
	}
	var e RecordedEntry
	ok, err := getJSON(q.st, r.Key.String(), &e)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", newError(CodeNotFound, "no entry recorded under this key")
	}
	if e.Reversal != nil {
		return "", newError(CodeAlreadyReversed, "the entry was reversed in transaction "+e.Reversal.TxID)
	}
	p, ok := q.periods[r.Key.Period]
	if !ok {
		if p, err = loadPeriod(q.st, r.Key.Period); err != nil {
			return "", err
		}
		q.periods[r.Key.Period] = p
	}
	if p.State == PeriodSnapshotted {
		return "", newError(CodePeriodClosed, fmt.Sprintf("period %d is snapshotted: its reports are final", p.Number))
	}
	if r.Hits() > uint64(e.Count) {
		return "", newError(CodeInvalidArgument, fmt.Sprintf("%d hits reported for an entry of %d items", r.Hits(), e.Count))
	}
	rkey := reportKey(r.Key)
	prev := q.batch[rkey]
	if prev == nil {
		var stored storedReport
		if ok, err := getJSON(q.st, rkey, &stored); err != nil {
			return "", err
		} else if ok {
			prev = &stored
		}
	}
	if prev != nil && prev.OutcomeReport == *r {
		return OutcomeDuplicate, nil
	}
	g := qsumGroup{r.Key.Period, r.Key.Responder, e.Category}
	d := q.deltas[g]
	if d == nil {
		d = &sumDelta{}
		q.deltas[g] = d
	}
	if prev != nil {
		d.add(prev, -1)
	}
	rep := &storedReport{OutcomeReport: *r, Category: e.Category, Items: e.Count, TxID: q.st.TxID()}
	d.add(rep, 1)
	q.batch[rkey] = rep
	return OutcomeRecorded, putJSON(q.st, rkey, rep)
}

// applySums adds the batch's changes to the caller's summaries, each read
// and written once, in key order so that every endorser reads alike.
func (q *reportTx) applySums() error {
	groups := slices.SortedFunc(maps.Keys(q.deltas), func(a, b qsumGroup) int {
		return cmp.Or(cmp.Compare(a.period, b.period), strings.Compare(a.responder, b.responder), strings.Compare(a.category, b.category))
	})
	for _, g := range groups {
		if err := addQSum(q.st, qsumKey(g.period, g.responder, g.category, q.caller), q.deltas[g]); err != nil {
			return err
		}
	}
	return nil
}

// addQSum reads the summary under key, applies d and writes it back.
func addQSum(st State, key string, d *sumDelta) error {
	var s QualitySum
	if _, err := getJSON(st, key, &s); err != nil {
		return err
	}
	if err := d.apply(&s); err != nil {
		return err
	}
	return putJSON(st, key, &s)
}

// dropReport takes a reversed entry's report, if any, out of its
// requester's summary: a reversed answer was not billed, so it does not
// score either. The reversal is the requester's own transaction, and the
// summary its own key.
func dropReport(st State, e *RecordedEntry) error {
	var r storedReport
	ok, err := getJSON(st, reportKey(e.Key), &r)
	if err != nil || !ok {
		return err
	}
	var d sumDelta
	d.add(&r, -1)
	return addQSum(st, qsumKey(e.Key.Period, e.Key.Responder, r.Category, e.Key.Requester), &d)
}
