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
// registry view it was checked against: the view carries only the current
// period, and the grace check must not cost a ledger call per request.
type periodCache struct {
	mu   sync.Mutex
	asOf time.Time
	prev *accounting.Period
}

// acceptPeriod returns the record of period n if an exchange may be billed
// in it now: n is the current period and open, or the previous one and in
// its grace window. Otherwise it returns the refusal.
func (p *Provider) acceptPeriod(ctx context.Context, view *registry.View, n uint64) (*accounting.Period, *riskmeshv1.PeerResponse) {
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
		prev, err := p.previousPeriod(ctx, view)
		if err != nil {
			return nil, refuse(codeUnavailable, "ledger unreachable for the grace-window check")
		}
		if prev.State != accounting.PeriodGrace {
			return nil, refuse(codeStale, "period %d is %s", n, prev.State)
		}
		return prev, nil
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
