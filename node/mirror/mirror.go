package mirror

import (
	"context"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Mirror holds the verified catalogs of the current period. It is safe for
// concurrent use.
type Mirror struct {
	cfg   Config
	slots chan struct{} // one per running download

	mu      sync.Mutex
	m       map[catalogKey]*remoteCatalog
	changed chan struct{} // closed and replaced when an attempt ends
}

// maxDownloads bounds the catalog downloads running at once.
const maxDownloads = 2

// retryTick is how often Run looks for catalog downloads whose back-off
// has expired.
const retryTick = time.Second

// New returns a mirror that holds nothing yet. Catalogs already on disk are
// verified and loaded by the first Run or Sync pass.
func New(cfg Config) (*Mirror, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Mirror{
		cfg:     cfg,
		slots:   make(chan struct{}, maxDownloads),
		m:       make(map[catalogKey]*remoteCatalog),
		changed: make(chan struct{}),
	}, nil
}

// Run keeps the catalogs of the current period downloaded (at period start,
// when a provider publishes, and on retries after failures) until ctx
// ends, then waits for the downloads it started.
func (m *Mirror) Run(ctx context.Context) error {
	tick := time.NewTicker(retryTick)
	defer tick.Stop()
	var fetches sync.WaitGroup
	defer fetches.Wait()
	for {
		changes := m.cfg.Directory.Changes()
		m.sync(ctx, &fetches)
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
		case <-tick.C:
		}
	}
}

// Sync runs one pass of Run now and waits for the attempts it started.
func (m *Mirror) Sync(ctx context.Context) {
	var wg sync.WaitGroup
	m.sync(ctx, &wg)
	wg.Wait()
}

// Ready returns the catalog requester for a provider's catalog of category
// in period, and the OPRF key id the catalog was built under; ok is false
// until that catalog is downloaded and verified.
func (m *Mirror) Ready(provider, category string, period uint64) (psi *catalogpsi.Requester, keyID oprf.KeyID, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rc := m.m[catalogKey{provider, category, period}]
	if rc == nil || rc.psi == nil {
		return nil, oprf.KeyID{}, false
	}
	return rc.psi, rc.keyID, true
}

// Changes returns a channel that is closed when the next catalog download
// attempt ends, successful or not. Take it before reading RemoteCatalogs so
// that no change falls in between.
func (m *Mirror) Changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}
