package mirror

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// Directory is what the mirror reads of the node's registry cache
// (*registry.Directory implements it).
type Directory interface {
	View() *registry.View
	Changes() <-chan struct{}
	Catalog(ctx context.Context, msp, category string, period uint64) (*accounting.Catalog, error)
}

var _ Directory = (*registry.Directory)(nil)

// Send sends one request to a provider's node and returns its answer; the
// node's shared connections do it ((*outbound.Conns).Do).
type Send func(ctx context.Context, inst *accounting.Institution, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)

var _ Send = (*outbound.Conns)(nil).Do

// Config configures a Mirror. The fields up to CatalogDir are required;
// every other zero field takes the default in its comment.
type Config struct {
	// MSPID is this institution: its own catalogs are never fetched.
	MSPID string
	// Directory is the node's registry cache.
	Directory Directory
	// Send reaches providers' nodes.
	Send Send
	// CatalogDir holds downloaded catalogs:
	// <CatalogDir>/<provider>/<category>/<period>.cat.
	CatalogDir string

	// Categories restricts the categories whose catalogs are downloaded
	// (and so which can be queried). Default: every category some active
	// provider serves.
	Categories []string
	// CatalogRetry is the first wait before retrying a failed catalog
	// download; it doubles up to MaxCatalogRetry. Defaults 2 s and 5 min.
	CatalogRetry    time.Duration
	MaxCatalogRetry time.Duration
	// CatalogMaxBytes bounds a catalog download. Default
	// catalog.DefaultMaxBytes (1 GiB).
	CatalogMaxBytes int64
	// CatalogChunk is the chunk size asked for. Default
	// riskmeshv1.DefaultCatalogChunk (256 KiB).
	CatalogChunk uint32
	// PhaseTimeout bounds each ledger read and catalog request. Default
	// 15 s.
	PhaseTimeout time.Duration
	// RetryBackoff is the first wait before asking a busy provider
	// (RATE_LIMITED, UNAVAILABLE) for a chunk again, unless it says how
	// long; it doubles per attempt up to MaxRetryBackoff. Defaults 50 ms
	// and 2 s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// Logger receives events without identifiers (default: discard).
	Logger *slog.Logger
	// Now is the clock for the times reported and the download back-off
	// (default time.Now).
	Now func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultCatalogRetry    = 2 * time.Second
	DefaultMaxCatalogRetry = 5 * time.Minute
)

// withDefaults validates c once and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch {
	case !names.MSPID(c.MSPID):
		return c, fmt.Errorf("%w: MSP id %q", ErrConfig, c.MSPID)
	case c.Directory == nil || c.Send == nil:
		return c, fmt.Errorf("%w: Directory and Send are required", ErrConfig)
	case c.CatalogDir == "":
		return c, fmt.Errorf("%w: CatalogDir is required", ErrConfig)
	case c.CatalogRetry < 0 || c.MaxCatalogRetry < 0 || c.CatalogMaxBytes < 0 || c.PhaseTimeout < 0 ||
		c.RetryBackoff < 0 || c.MaxRetryBackoff < 0:
		return c, fmt.Errorf("%w: negative value", ErrConfig)
	case c.CatalogChunk > riskmeshv1.MaxCatalogChunk:
		return c, fmt.Errorf("%w: CatalogChunk above %d", ErrConfig, riskmeshv1.MaxCatalogChunk)
	}
	for _, cat := range c.Categories {
		if !names.Category(cat) {
			return c, fmt.Errorf("%w: category %q", ErrConfig, cat)
		}
	}
	c.CatalogRetry = cmp.Or(c.CatalogRetry, DefaultCatalogRetry)
	c.MaxCatalogRetry = cmp.Or(c.MaxCatalogRetry, DefaultMaxCatalogRetry)
	c.CatalogMaxBytes = cmp.Or(c.CatalogMaxBytes, catalog.DefaultMaxBytes)
	c.CatalogChunk = cmp.Or(c.CatalogChunk, riskmeshv1.DefaultCatalogChunk)
	c.PhaseTimeout = cmp.Or(c.PhaseTimeout, outbound.DefaultPhaseTimeout)
	c.RetryBackoff = cmp.Or(c.RetryBackoff, outbound.DefaultRetryBackoff)
	c.MaxRetryBackoff = cmp.Or(c.MaxRetryBackoff, outbound.DefaultMaxRetryBackoff)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
