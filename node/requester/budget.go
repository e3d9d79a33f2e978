package requester

import (
	"context"
	"fmt"
	"sync"

	"github.com/riskmesh/riskmesh/accounting"
)

// budget keeps this node inside its overdraft limit between settlements.
// The ledger balance moves only when a period is settled, so the node adds
// what it has been billed since (unsettled, durable in the store) and what
// requests in flight may still be billed (reserved, in memory).
type budget struct {
	mu        sync.Mutex
	unsettled int64
	reserved  int64
	warned    bool // the within-10%-of-the-limit warning is logged once per crossing
}

// headroom is how much more the node may spend with account a.
func (b *budget) headroom(a accounting.Account) int64 {
	return a.Balance + a.Limit - b.unsettled - b.reserved
}

// reserve sets amount aside for a request, or says why it cannot. warn
// reports that the node has come within 10% of its limit.
func (b *budget) reserve(a accounting.Account, amount int64) (warn bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.headroom(a)
	if amount > h {
		return false, fmt.Errorf("over budget: %d tokens needed, %d left before the overdraft limit of %d", amount, max(h, 0), a.Limit)
	}
	b.reserved += amount
	near := 10*(h-amount) < a.Limit
	warn, b.warned = near && !b.warned, near
	return warn, nil
}

// release returns a reservation, of which billed tokens were actually
// billed (they stay counted as unsettled spend).
func (b *budget) release(reserved, billed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= reserved
	b.unsettled += billed
}

// set replaces the unsettled spend, after settled periods were dropped.
func (b *budget) set(unsettled int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unsettled = unsettled
}

func (b *budget) spent() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unsettled
}

// refreshSpend drops the spend of periods settlement has counted and
// recomputes the unsettled total. Periods the ledger cannot be asked about
// stay counted: overcounting only stops the node early.
func (r *Requester) refreshSpend(ctx context.Context) error {
	// Hold off concurrent releases from being lost: recompute from the
	// store, which every release's billing was written to first.
	r.spendMu.Lock()
	defer r.spendMu.Unlock()
	spend, err := r.store.spend()
	if err != nil {
		return err
	}
	current := r.cfg.Directory.View().Period.Number
	var settled []uint64
	var total int64
	for p, amount := range spend {
		if p < current {
			per, err := r.cfg.Ledger.Period(ctx, p)
			if err == nil && (per.State == accounting.PeriodSettled || per.State == accounting.PeriodSnapshotted) {
				settled = append(settled, p)
				continue
			}
		}
		total += amount
	}
	if err := r.store.dropSpend(settled); err != nil {
		return err
	}
	r.budget.set(total)
	return nil
}
