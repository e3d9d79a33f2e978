package accounting

import (
	"context"
	"fmt"
)

// Bounds of the loops below: far more steps and pages than any period
// holds, so that a backend that never says it is done cannot keep a
// caller forever.
const (
	MaxSettleSteps = 1 << 20
	MaxEntryPages  = 1 << 20
)

// SettleAll settles a closed period to the end: Settle with maxEntries per
// step (0: the contract's default) until the result says Done.
func SettleAll(ctx context.Context, p Periods, period uint64, maxEntries int) (*SettleResult, error) {
	for range MaxSettleSteps {
		r, err := p.Settle(ctx, period, maxEntries)
		if err != nil {
			return nil, err
		}
		if r.Done {
			return r, nil
		}
	}
	return nil, fmt.Errorf("accounting: period %d not settled after %d steps", period, MaxSettleSteps)
}

// AllEntries reads every page of q's entries.
func AllEntries(ctx context.Context, r Recorder, q EntriesQuery) ([]RecordedEntry, error) {
	var out []RecordedEntry
	for range MaxEntryPages {
		page, err := r.Entries(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Entries...)
		if page.Bookmark == "" {
			return out, nil
		}
		q.Bookmark = page.Bookmark
	}
	return nil, fmt.Errorf("accounting: entries of %s: more than %d pages", q.Party, MaxEntryPages)
}

// PeriodEntries reads every entry of period that party requested (or, with
// asResponder, answered); with no party, every registered institution's in
// registry order.
func PeriodEntries(ctx context.Context, l interface {
	Registry
	Recorder
}, period uint64, party string, asResponder bool) ([]RecordedEntry, error) {
	parties := []string{party}
	if party == "" {
		insts, err := l.Institutions(ctx)
		if err != nil {
			return nil, err
		}
		parties = parties[:0]
		for _, in := range insts {
			parties = append(parties, in.MSPID)
		}
	}
	entries := []RecordedEntry{}
	for _, p := range parties {
		got, err := AllEntries(ctx, l, EntriesQuery{Period: period, Party: p, AsResponder: asResponder})
		if err != nil {
			return nil, err
		}
		entries = append(entries, got...)
	}
	return entries, nil
}
