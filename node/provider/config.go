package provider

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Directory is the cached ledger view the provider reads on every request
// (node/registry's *Directory).
type Directory interface {
	// Recheck returns a view refreshed if older than a second: a requester
	// signature the view's keys reject may be under a key rotated since.
	Recheck(ctx context.Context) *registry.View
	View() *registry.View
	Changes() <-chan struct{}
}

var _ Directory = (*registry.Directory)(nil)

// Ledger is the part of accounting.Ledger the provider and its outbox use,
// as this institution.
type Ledger interface {
	accounting.Recorder
	Period(ctx context.Context, n uint64) (*accounting.Period, error)
	SetOPRFKey(ctx context.Context, category string, key []byte) error
	PublishCatalog(ctx context.Context, c accounting.Catalog) error
	Catalog(ctx context.Context, mspID, category string, period uint64) (*accounting.Catalog, error)
}

var _ Ledger = accounting.Ledger(nil)

// Source is one named list source feeding one category. A file holding
// several categories is configured as several Sources, one per category.
type Source struct {
	// Name is how Refresh and reports refer to the source.
	Name string
	// Category is the ledger category (e.g. "black") the entries are
	// catalogued under; it must have a key in Config.Keys.
	Category string
	// Code is the list category code (1..255) of the rows to read: the
	// source yields only rows with this code (node/lists).
	Code uint8
	// Source reads the rows.
	Source lists.Source
	// ImportFile returns a reader of the file at path in this source's
	// format and mapping, for Import. Nil: the source takes no file
	// imports (a PostgreSQL source, whose rows belong in its database).
	ImportFile func(path string) (lists.Source, error)
}

// Config configures a Provider. The fields up to DataDir are required;
// every other zero field takes the default in its comment.
type Config struct {
	// MSPID is this institution's MSP id.
	MSPID string
	// Ledger is the ledger as this institution.
	Ledger Ledger
	// Directory is the node's cached ledger view.
	Directory Directory
	// Keys holds the current OPRF private key of each category this node
	// provides: the key registered on the ledger, under which the
	// catalogs of periods not built yet are built. RotateKey replaces it
	// in a running provider.
	Keys map[string]*oprf.PrivateKey
	// PreviousKeys holds, for categories of Keys, the key the last
	// rotation replaced (node/identity's PreviousOPRFKeys): catalogs
	// already published may have been built under it, and are served
	// and answered with it. Optional.
	PreviousKeys map[string]*oprf.PrivateKey
	// Sign signs transcript response digests with the institution's
	// registered signing key.
	Sign ecsig.Sign
	// DB is the node's bbolt file; the provider uses the buckets
	// "provider/transcripts", "provider/replay", "provider/imports",
	// "provider/imports-staging" and the outbox's.
	DB *bolt.DB
	// DataDir holds catalog files under catalogs/<category>/<period>.cat.
	DataDir string
	// Seal, when set, seals the sources' last good reads (the raw list
	// entries, lists/<source>.last-good) with the node's data-at-rest
	// keyring, each bound to its source. Default nil: written in plain.
	Seal *seal.Keyring

	// Serve says how each category of Keys is served (ServeCatalog,
	// ServeLive or both). Default, and for a category not in the map:
	// ServeCatalog only.
	Serve map[string]ServeMode
	// LiveBatch is the most identifiers one live query carries (1 to
	// 4,096): it fixes the live parameters' table (hepsi.ParamsFor).
	// Default DefaultLiveBatch.
	LiveBatch int
	// LiveKeyCache is how many requesters' evaluation keys the provider
	// keeps for live queries that name theirs by digest. Default
	// hepsi.DefaultKeyCacheSize.
	LiveKeyCache int
	// LiveKeyUploads bounds each requester's evaluation-key uploads
	// (livebudgets.go). Default: bursts of DefaultLiveKeyBurst, refilled at
	// DefaultLiveKeyPerMinute.
	LiveKeyUploads LiveBudget
	// LiveRetries bounds each requester's live queries evaluated again
	// for a retry whose answer is no longer kept (livebudgets.go).
	// Default: bursts of DefaultLiveRetryBurst, refilled at
	// DefaultLiveRetryPerMinute.
	LiveRetries LiveBudget

	// Sources are the list sources, in reporting order.
	Sources []Source
	// Outbox configures the accounting submitter; its Ledger defaults to
	// Config.Ledger.
	Outbox outbox.Config
	// MaxBatch is the largest item count one evaluate request may carry.
	// Default and maximum transcript.MaxItems (65,535).
	MaxBatch int
	// RetainPeriods is how many periods of transcripts are kept, the
	// current one included: transcripts of period p are deleted once the
	// current period is p+RetainPeriods. Default 30; at least 2, so the
	// previous period's replay index lives through its grace window.
	RetainPeriods uint64
	// RetryBuild is how long after a failed catalog build or publication
	// the next attempt starts, if nothing else triggers one. Default 1 min.
	RetryBuild time.Duration
	// ExposureRefresh is how often the requesters' exposures are read from
	// the ledger: with the outbox's flush delay it bounds how long another
	// provider's bills go unseen here, and so how far a requester can pass
	// its overdraft limit (docs/ledger.md). Default 2 s; at most
	// MaxExposureRefresh.
	ExposureRefresh time.Duration
	// CorruptEvaluation makes the provider misbehave on purpose, for
	// demonstrations and tests of disputes only: in every answer one
	// evaluated element is replaced by the blinded element it answers
	// after the proof is made, and the answer is signed and billed as
	// usual. The proof then fails, the requester disputes the answer and
	// an auditor upholds the dispute (docs/audit.md). Default false.
	CorruptEvaluation bool
	// Logger receives events. Default: discard.
	Logger *slog.Logger
	// Rand draws the DLEQ proof nonces. Default crypto/rand.
	Rand io.Reader
	// Now is the clock for status timestamps and the key upload budget.
	// Default time.Now.
	Now func() time.Time
}

// ServeMode is a set of the ways a category is served.
type ServeMode uint8

const (
	// ServeCatalog builds and publishes a catalog per period and answers
	// catalog-PSI requests against it.
	ServeCatalog ServeMode = 1 << iota
	// ServeLive keeps a homomorphic database of the current list and
	// answers live queries against it (live.go).
	ServeLive
)

// MaxLiveBatch is the largest batch hepsi.ParamsFor sizes a table for.
const MaxLiveBatch = 4096

// Defaults of Config's zero fields.
const (
	DefaultRetainPeriods   = 30
	DefaultRetryBuild      = time.Minute
	DefaultExposureRefresh = 2 * time.Second
	MaxExposureRefresh     = time.Minute
)

// withDefaults validates c once and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch {
	case !names.MSPID(c.MSPID):
		return c, fmt.Errorf("%w: invalid MSP id", ErrConfig)
	case c.Ledger == nil || c.Directory == nil || c.Sign == nil || c.DB == nil:
		return c, fmt.Errorf("%w: Ledger, Directory, Sign and DB are required", ErrConfig)
	case c.DataDir == "":
		return c, fmt.Errorf("%w: no data directory", ErrConfig)
	case c.MaxBatch < 0 || c.MaxBatch > transcript.MaxItems:
		return c, fmt.Errorf("%w: MaxBatch %d out of 0..%d", ErrConfig, c.MaxBatch, transcript.MaxItems)
	case c.RetainPeriods == 1:
		return c, fmt.Errorf("%w: RetainPeriods must be at least 2", ErrConfig)
	case c.RetryBuild < 0:
		return c, fmt.Errorf("%w: negative RetryBuild", ErrConfig)
	case c.ExposureRefresh < 0 || c.ExposureRefresh > MaxExposureRefresh:
		return c, fmt.Errorf("%w: ExposureRefresh %v out of 0..%v", ErrConfig, c.ExposureRefresh, MaxExposureRefresh)
	case c.LiveBatch < 0 || c.LiveBatch > MaxLiveBatch:
		return c, fmt.Errorf("%w: LiveBatch %d out of 0..%d", ErrConfig, c.LiveBatch, MaxLiveBatch)
	case c.LiveKeyUploads.Burst < 0 || c.LiveKeyUploads.PerMinute < 0:
		return c, fmt.Errorf("%w: negative LiveKeyUploads", ErrConfig)
	case c.LiveRetries.Burst < 0 || c.LiveRetries.PerMinute < 0:
		return c, fmt.Errorf("%w: negative LiveRetries", ErrConfig)
	}
	for cat, m := range c.Serve {
		if _, ok := c.Keys[cat]; !ok || m == 0 || m&^(ServeCatalog|ServeLive) != 0 {
			return c, fmt.Errorf("%w: serve mode %d for %q, which must be a provided category served as catalog, live or both", ErrConfig, m, cat)
		}
	}
	for cat, k := range c.Keys {
		if !names.Category(cat) || k == nil {
			return c, fmt.Errorf("%w: invalid category or nil key for %q", ErrConfig, cat)
		}
	}
	for cat, k := range c.PreviousKeys {
		if _, ok := c.Keys[cat]; !ok || k == nil {
			return c, fmt.Errorf("%w: previous key for %q, which has no current key, or nil", ErrConfig, cat)
		}
	}
	seen := map[string]bool{}
	for _, s := range c.Sources {
		if s.Name == "" || seen[s.Name] {
			return c, fmt.Errorf("%w: source names must be set and unique (%q)", ErrConfig, s.Name)
		}
		seen[s.Name] = true
		if _, ok := c.Keys[s.Category]; !ok {
			return c, fmt.Errorf("%w: source %q feeds category %q, which has no key", ErrConfig, s.Name, s.Category)
		}
		if s.Code == 0 || s.Source == nil {
			return c, fmt.Errorf("%w: source %q needs a code 1..255 and a reader", ErrConfig, s.Name)
		}
	}
	c.Outbox.Ledger = cmp.Or[accounting.Recorder](c.Outbox.Ledger, c.Ledger)
	c.MaxBatch = cmp.Or(c.MaxBatch, transcript.MaxItems)
	c.RetainPeriods = cmp.Or(c.RetainPeriods, DefaultRetainPeriods)
	c.LiveBatch = cmp.Or(c.LiveBatch, DefaultLiveBatch)
	c.LiveKeyUploads.Burst = cmp.Or(c.LiveKeyUploads.Burst, DefaultLiveKeyBurst)
	c.LiveKeyUploads.PerMinute = cmp.Or(c.LiveKeyUploads.PerMinute, DefaultLiveKeyPerMinute)
	c.LiveRetries.Burst = cmp.Or(c.LiveRetries.Burst, DefaultLiveRetryBurst)
	c.LiveRetries.PerMinute = cmp.Or(c.LiveRetries.PerMinute, DefaultLiveRetryPerMinute)
	c.RetryBuild = cmp.Or(c.RetryBuild, DefaultRetryBuild)
	c.ExposureRefresh = cmp.Or(c.ExposureRefresh, DefaultExposureRefresh)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.Outbox.Logger = cmp.Or(c.Outbox.Logger, c.Logger)
	c.Rand = cmp.Or(c.Rand, rand.Reader)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("provider: invalid config")
