package localnet

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
)

// maxEntryPages bounds the pages read for one requester's entries.
const maxEntryPages = 1 << 16

// Entries returns every accounting entry of period on the ledger, by
// requester in member order, each requester's in ledger order.
func (n *Network) Entries(ctx context.Context, period uint64) ([]accounting.RecordedEntry, error) {
	var all []accounting.RecordedEntry
	for _, m := range n.members {
		q := accounting.EntriesQuery{Period: period, Party: m.MSPID}
		for page := 0; ; page++ {
			if page == maxEntryPages {
				return nil, fmt.Errorf("entries of %s: more than %d pages", m.MSPID, maxEntryPages)
			}
			p, err := n.admin.Entries(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("entries of %s: %w", m.MSPID, err)
			}
			all = append(all, p.Entries...)
			if p.Bookmark == "" {
				break
			}
			q.Bookmark = p.Bookmark
		}
	}
	return all, nil
}
