package localnet

import (
	"context"
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// CatalogProgress is where one provider's catalog of a category stands, from
// its build on the provider's node to its download by a requester's node.
type CatalogProgress struct {
	// Provider is the provider's MSP id.
	Provider string
	// Built and ToBuild count the entries evaluated so far and in all by
	// the provider's build; ToBuild is 0 until known.
	Built, ToBuild uint64
	// Published is true once the catalog's digest is on the ledger and the
	// provider serves it.
	Published bool
	// Downloaded and ToDownload count the requester's download in bytes;
	// ToDownload is 0 until known.
	Downloaded, ToDownload uint64
	// Ready is true once the requester has verified the catalog against
	// the ledger's digest and can query it.
	Ready bool
	// Items is the catalog's item count once built.
	Items uint64
	// Error is the last build or download failure, retried by the nodes.
	Error string
}

// WaitCatalogs waits until requester's node holds a verified catalog of
// category for period (0: the current period) from every other member that
// provides category, calling progress (if not nil) with every provider's state
// at each poll. It returns when all are ready, when ctx ends or when a node
// exits.
func (n *Network) WaitCatalogs(ctx context.Context, requester, category string, period uint64, progress func([]CatalogProgress)) error {
	req, err := n.Client(requester)
	if err != nil {
		return err
	}
	if period == 0 {
		p, err := n.admin.Period(ctx, 0)
		if err != nil {
			return fmt.Errorf("current period: %w", err)
		}
		period = p.Number
	}
	var providers []string
	for _, m := range n.cfg.Members {
		if m.MSPID != requester && slices.Contains(m.Categories, category) {
			providers = append(providers, m.MSPID)
		}
	}
	return n.Wait(ctx, fmt.Sprintf("%s catalogs of period %d at %s", category, period, requester), func() error {
		remote, err := req.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: category})
		if err != nil {
			return fmt.Errorf("%s: %w", requester, err)
		}
		states := make([]CatalogProgress, len(providers))
		var waiting []string
		for i, p := range providers {
			st := &states[i]
			st.Provider = p
			if err := n.buildProgress(ctx, st, category, period); err != nil {
				return err
			}
			for _, rc := range remote.GetRemote() {
				if rc.GetProvider() == p && rc.GetPeriod() == period {
					st.Downloaded, st.ToDownload = rc.GetBytesDone(), rc.GetTotalLength()
					st.Ready = rc.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY
					if rc.GetError() != "" {
						st.Error = rc.GetError()
					}
				}
			}
			if !st.Ready {
				waiting = append(waiting, p)
			}
		}
		if progress != nil {
			progress(states)
		}
		if len(waiting) > 0 {
			return fmt.Errorf("not ready: %v", waiting)
		}
		return nil
	})
}

// buildProgress fills st with the provider's own view of its catalog build.
func (n *Network) buildProgress(ctx context.Context, st *CatalogProgress, category string, period uint64) error {
	c, err := n.Client(st.Provider)
	if err != nil {
		return err
	}
	local, err := c.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: category})
	if err != nil {
		return fmt.Errorf("%s: %w", st.Provider, err)
	}
	for _, lc := range local.GetLocal() {
		if lc.GetPeriod() != period {
			continue
		}
		st.Built, st.ToBuild, st.Items = lc.GetEntriesDone(), lc.GetEntriesTotal(), lc.GetItems()
		st.Published = lc.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY
		st.Error = lc.GetError()
	}
	return nil
}
