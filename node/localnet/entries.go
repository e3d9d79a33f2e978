package localnet

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
)

// Entries returns every accounting entry of period on the ledger, by
// requester in member order, each requester's in ledger order.
func (n *Network) Entries(ctx context.Context, period uint64) ([]accounting.RecordedEntry, error) {
	var all []accounting.RecordedEntry
	for _, m := range n.members {
		got, err := accounting.AllEntries(ctx, n.admin, accounting.EntriesQuery{Period: period, Party: m.MSPID})
		if err != nil {
			return nil, fmt.Errorf("entries of %s: %w", m.MSPID, err)
		}
		all = append(all, got...)
	}
	return all, nil
}
