package requester

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The providers' bills reach the ledger; after settlement the node counts
// them in the balance instead of its unsettled spend, and once settlement
// flags it over its limit it refuses to query at all.
func TestSettlementMovesSpendIntoTheBalance(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3, 4, 5)})
	const spent = 2 * 5 * testPrice

	for _, p := range n.providers {
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		must(t, p.node.Outbox().Flush(fctx))
		cancel()
	}
	page, err := n.regulator.Entries(ctx, accounting.EntriesQuery{Period: n.period, Party: requesterMSP})
	must(t, err)
	var billed int64
	for _, e := range page.Entries {
		billed += e.Amount
	}
	if len(page.Entries) != 2 || billed != spent {
		t.Fatalf("ledger has %d entries billing %d, want 2 billing %d", len(page.Entries), billed, spent)
	}

	// The regulator lowers the limit below the spend and settles period 1.
	must(t, n.regulator.SetLimit(ctx, requesterMSP, spent-1))
	_, err = n.regulator.Rollover(ctx)
	must(t, err)
	must(t, n.regulator.ClosePeriod(ctx, n.period))
	for range 100 {
		res, err := n.regulator.Settle(ctx, n.period, 0)
		must(t, err)
		if res.Done {
			break
		}
	}
	n.refresh()
	bal, err := r.Balance(ctx)
	must(t, err)
	if bal.Balance != -spent || bal.UnsettledSpend != 0 || !bal.Flagged || bal.Headroom != -1 {
		t.Fatalf("balance after settlement %v", bal)
	}
	err = r.Query(ctx, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)},
		func(*riskmeshv1.QueryEvent) error { return nil })
	if !errors.Is(err, ErrOverLimit) {
		t.Fatalf("Query while flagged = %v, want ErrOverLimit", err)
	}
}
