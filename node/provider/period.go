package provider

import (
	"context"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// periodCache keeps the previous period's ledger record for as long as the
// registry view it was checked against (the view carries only the current
// period), and the last backlog report.
type periodCache struct {
	mu   sync.Mutex
	asOf time.Time
	prev *accounting.Period
	// The last backlog report this provider made (reportBacklog).
	reported        bool
	reportedPeriod  uint64
	reportedPending uint64
}

// acceptPeriod returns the record of period n if a new exchange may be
// billed in it now: n is the current period and open. Otherwise it returns
// the refusal; in particular a new request for the previous period, in its
// grace window, is refused (retries of answered ones never get here).
func (p *Provider) acceptPeriod(view *registry.View, n uint64) (*accounting.Period, *riskmeshv1.PeerResponse) {
	cur := view.Period
	switch {
	case cur.Number == 0:
		return nil, refuse(codeUnavailable, "no accounting period is open yet")
	case n > cur.Number:
		return nil, refuse(codeUnavailable, "period %d is not open on this provider's ledger view yet (current %d)", n, cur.Number)
	case n == cur.Number:
		if cur.State != accounting.PeriodOpen {
			return nil, refuse(codeStale, "period %d is %s", n, cur.State)
		}
		return &cur, nil
	case n+1 == cur.Number:
		// A retry of a request answered before the rollover got its stored
		// answer before this check (the replay rule). A new request for a
		// period in its grace window would be journalled after the
		// providers' drain reports and could die unbilled at the close.
		return nil, refuse(codeStale, "period %d has ended: only a retry of a request answered in it is answered", n)
	default:
		return nil, refuse(codeStale, "period %d is closed (current %d)", n, cur.Number)
	}
}

// previousPeriod returns the record of the period before view's current
// one, fetched once per view.
func (p *Provider) previousPeriod(ctx context.Context, view *registry.View) (*accounting.Period, error) {
	c := &p.periods
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prev != nil && c.asOf.Equal(view.AsOf) && c.prev.Number+1 == view.Period.Number {
		return c.prev, nil
	}
	prev, err := p.cfg.Ledger.Period(ctx, view.Period.Number-1)
	if err != nil {
		return nil, err
	}
	c.asOf, c.prev = view.AsOf, prev
	return prev, nil
}

// reportBacklog reports on the ledger, while the previous period is in its
// grace window, how many entries of it the journal still holds, each time
// that number changed since the last report (0 included: ClosePeriod reads
// the reports, docs/ledger.md). A failure is logged and retried at the
// next call.
func (p *Provider) reportBacklog(ctx context.Context) {
	view := p.cfg.Directory.View()
	if view.Period.Number < 2 {
		return
	}
	prev, err := p.previousPeriod(ctx, view)
	if err != nil || prev.State != accounting.PeriodGrace {
		return
	}
	n, err := p.outbox.PendingIn(prev.Number)
	if err != nil {
		p.log.Error("provider: count the journal's backlog", "period", prev.Number, "err", err)
		return
	}
	c := &p.periods
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reported && c.reportedPeriod == prev.Number && c.reportedPending == n {
		return
	}
	if err := p.cfg.Ledger.ReportBacklog(ctx, prev.Number, n); err != nil {
		p.log.Warn("provider: report the journal's backlog", "period", prev.Number, "pending", n, "err", err)
		return
	}
	c.reported, c.reportedPeriod, c.reportedPending = true, prev.Number, n
}
