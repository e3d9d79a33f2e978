package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/riskmesh/riskmesh/accounting"
)

// entries waits until the providers' accounting entries for the query are
// on the ledger and prints them.
func (d *session) entries(ctx context.Context, amount int64) error {
	done := d.step("entries", "accounting entries on the ledger (period 1), submitted by each provider and signed by both sides")
	entries, err := d.waitEntries(ctx, "the query's accounting entries", 1, nil, amount)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   requester\tresponder\tcategory\titems\ttokens")
	for _, e := range entries {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%d\t%d\n", e.Key.Requester, e.Key.Responder, e.Category, e.Count, e.Amount)
		d.summary.Entries = append(d.summary.Entries, entryOf(e))
	}
	tw.Flush()
	d.recorded = entries
	done()
	return nil
}

// waitEntries waits until period's entries that are not in seen bill
// amount in all, as the providers' outboxes submit them, and returns them.
func (d *session) waitEntries(ctx context.Context, what string, period uint64, seen map[accounting.EntryKey]bool, amount int64) ([]accounting.RecordedEntry, error) {
	var added []accounting.RecordedEntry
	err := d.net.Wait(ctx, what, func() error {
		entries, err := d.net.Entries(ctx, period)
		if err != nil {
			return err
		}
		added = added[:0]
		var sum int64
		for _, e := range entries {
			if !seen[e.Key] {
				added = append(added, e)
				sum += e.Amount
			}
		}
		if sum != amount {
			return fmt.Errorf("entries for %d of %d tokens so far", sum, amount)
		}
		return nil
	})
	return added, err
}

// entryOf is a ledger entry as the summary shows it.
func entryOf(e accounting.RecordedEntry) Entry {
	return Entry{Requester: e.Key.Requester, Responder: e.Key.Responder, Category: e.Category, Items: e.Count, Amount: e.Amount}
}

// periodCycle rolls over, closes and settles period 1, then snapshots it,
// and checks the balances: they sum to zero before the snapshot, which
// records them, and are all zero after it.
func (d *session) periodCycle(ctx context.Context) error {
	done := d.step("settle", "period cycle: rollover, close, settle and snapshot of period 1")
	admin := d.net.Admin()
	p, err := admin.Rollover(ctx)
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	fmt.Fprintf(d.out, "   period %d open; period 1 in its grace window\n", p.Number)
	if err := admin.ClosePeriod(ctx, 1); err != nil {
		return fmt.Errorf("close period 1: %w", err)
	}
	if _, err := accounting.SettleAll(ctx, admin, 1, 0); err != nil {
		return fmt.Errorf("settle period 1: %w", err)
	}
	fmt.Fprintln(d.out, "   period 1 closed and settled")
	if d.summary.BalancesBefore, err = balances(ctx, admin); err != nil {
		return err
	}
	snap, err := admin.TakeSnapshot(ctx, 1)
	if err != nil {
		return fmt.Errorf("snapshot of period 1: %w", err)
	}
	d.summary.Snapshot = snap.Balances
	if d.summary.BalancesAfter, err = balances(ctx, admin); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   institution\tsettled balance\tin the snapshot\tafter the snapshot\t")
	var sum int64
	for _, msp := range slices.Sorted(maps.Keys(d.summary.BalancesBefore)) {
		b := d.summary.BalancesBefore[msp]
		sum += b
		fmt.Fprintf(tw, "   %s\t%d\t%d\t%d\t\n", msp, b, snap.Balances[msp], d.summary.BalancesAfter[msp])
	}
	fmt.Fprintf(tw, "   sum\t%d\t-\t-\t\n", sum)
	tw.Flush()
	if err := d.checkBalances(sum); err != nil {
		return err
	}
	done()
	return nil
}

// checkBalances checks the settled balances against the entries and the
// snapshot and the netting.
func (d *session) checkBalances(sum int64) error {
	want := map[string]int64{}
	entries := d.summary.Entries
	if q := d.summary.Quality; q != nil {
		entries = append(slices.Clone(entries), q.Entries...)
	}
	for _, e := range entries {
		if e.Reversed != "" {
			continue
		}
		want[e.Requester] -= e.Amount
		want[e.Responder] += e.Amount
	}
	var errs []error
	if sum != 0 {
		errs = append(errs, fmt.Errorf("settled balances sum to %d, not zero", sum))
	}
	for msp, b := range d.summary.BalancesBefore {
		if b != want[msp] {
			errs = append(errs, fmt.Errorf("%s settled at %d, its entries make %d", msp, b, want[msp]))
		}
		if s := d.summary.Snapshot[msp]; s != b {
			errs = append(errs, fmt.Errorf("%s: snapshot holds %d, balance was %d", msp, s, b))
		}
		if a := d.summary.BalancesAfter[msp]; a != 0 {
			errs = append(errs, fmt.Errorf("%s: balance %d after the snapshot", msp, a))
		}
	}
	return errors.Join(errs...)
}

func balances(ctx context.Context, l accounting.Ledger) (map[string]int64, error) {
	accounts, err := l.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	m := make(map[string]int64, len(accounts))
	for _, a := range accounts {
		m[a.MSPID] = a.Balance
	}
	return m, nil
}
