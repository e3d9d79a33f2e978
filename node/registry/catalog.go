package registry

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/riskmesh/riskmesh/accounting"
)

type catalogKey struct {
	msp, category string
	period        uint64
}

// catalogCache holds catalog digests read from the ledger. The contract
// refuses a second, different digest for the same (provider, category,
// period), so a digest once read never changes: entries need no
// revalidation, only eviction once their period is over.
type catalogCache struct {
	mu      sync.Mutex
	entries map[catalogKey]accounting.Catalog
}

func (c *catalogCache) get(k catalogKey) (accounting.Catalog, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	return e, ok
}

func (c *catalogCache) put(k catalogKey, cat accounting.Catalog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[k] = cat
}

// evictBefore drops the digests of periods before period, so the cache holds
// at most the registry's providers x categories x the periods in use.
func (c *catalogCache) evictBefore(period uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.period < period {
			delete(c.entries, k)
		}
	}
}

// Catalog returns the catalog digest msp published for category and period,
// reading the ledger only the first time (published digests are immutable).
// A provider that has not published yet gives an error wrapping
// accounting.ErrNotFound, which is not cached: ask again later.
func (d *Directory) Catalog(ctx context.Context, msp, category string, period uint64) (*accounting.Catalog, error) {
	k := catalogKey{msp: msp, category: category, period: period}
	if cat, ok := d.catalogs.get(k); ok {
		return cloneCatalog(cat), nil
	}
	cat, err := d.ledger.Catalog(ctx, msp, category, period)
	if err != nil {
		return nil, fmt.Errorf("registry: catalog of %s for %s, period %d: %w", msp, category, period, err)
	}
	if cat.MSPID != msp || cat.Category != category || cat.Period != period {
		return nil, fmt.Errorf("registry: ledger answered a catalog of %s for %s, period %d when asked for %s for %s, period %d",
			cat.MSPID, cat.Category, cat.Period, msp, category, period)
	}
	d.catalogs.put(k, *cloneCatalog(*cat))
	return cloneCatalog(*cat), nil
}

func cloneCatalog(c accounting.Catalog) *accounting.Catalog {
	c.Digest = bytes.Clone(c.Digest)
	return &c
}
