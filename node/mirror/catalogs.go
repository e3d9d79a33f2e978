package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

type catalogKey struct {
	provider, category string
	period             uint64
}

// remoteCatalog is this node's copy of one provider's catalog.
type remoteCatalog struct {
	status *riskmeshv1.RemoteCatalog // guarded by Mirror.mu; copied out

	psi      *catalogpsi.Requester // set once READY
	keyID    oprf.KeyID
	busy     bool      // a download is running
	failures int       // consecutive failures, for the back-off
	retryAt  time.Time // no new attempt before this
}

// RemoteCatalogs reports this node's copies of providers' catalogs for the
// current period: download progress, verification state and the last
// error, by provider, category and period.
func (m *Mirror) RemoteCatalogs() []*riskmeshv1.RemoteCatalog {
	m.mu.Lock()
	out := make([]*riskmeshv1.RemoteCatalog, 0, len(m.m))
	for _, rc := range m.m {
		out = append(out, cloneStatus(rc.status))
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *riskmeshv1.RemoteCatalog) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Category, b.Category),
			cmp.Compare(a.Period, b.Period))
	})
	return out
}

func cloneStatus(s *riskmeshv1.RemoteCatalog) *riskmeshv1.RemoteCatalog {
	return proto.Clone(s).(*riskmeshv1.RemoteCatalog)
}

// categories returns the categories this node fetches catalogs for.
func (m *Mirror) categories(v *registry.View) []string {
	if len(m.cfg.Categories) > 0 {
		return m.cfg.Categories
	}
	set := map[string]bool{}
	for _, inst := range v.Institutions() {
		for cat := range inst.OPRFKeys {
			set[cat] = true
		}
	}
	out := make([]string, 0, len(set))
	for cat := range set {
		out = append(out, cat)
	}
	slices.Sort(out)
	return out
}

// sync brings the catalog cache in line with the view: every
// active provider's catalog of every category for the current period is
// downloaded (or loaded from disk) and verified, at most maxDownloads at a
// time; older periods' catalogs are superseded and their files removed.
// The attempts run in the background, counted in wg; failed ones are
// retried with back-off by later calls.
func (m *Mirror) sync(ctx context.Context, wg *sync.WaitGroup) {
	v := m.cfg.Directory.View()
	period := v.Period.Number
	if period == 0 {
		return
	}
	now := m.cfg.Now()
	var todo []catalogKey
	for _, cat := range m.categories(v) {
		for _, inst := range v.Providers(cat) {
			if inst.MSPID == m.cfg.MSPID {
				continue // a node never queries itself
			}
			k := catalogKey{inst.MSPID, cat, period}
			if m.claim(k, now) {
				todo = append(todo, k)
			}
		}
	}
	m.supersede(period)
	for _, k := range todo {
		wg.Go(func() {
			select {
			case m.slots <- struct{}{}:
			case <-ctx.Done():
				m.release(k)
				return
			}
			defer func() { <-m.slots }()
			m.fetch(ctx, v, k)
		})
	}
}

// release ends an attempt that never started.
func (m *Mirror) release(k catalogKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rc := m.m[k]; rc != nil {
		rc.busy = false
	}
}

// claim marks k busy if it needs an attempt now.
func (m *Mirror) claim(k catalogKey, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	rc := m.m[k]
	if rc == nil {
		rc = &remoteCatalog{status: &riskmeshv1.RemoteCatalog{
			Provider: k.provider, Category: k.category, Period: k.period,
			State: riskmeshv1.CatalogState_CATALOG_STATE_BUILDING, UpdatedAt: timestamppb.New(now),
		}}
		m.m[k] = rc
	}
	if rc.busy || rc.psi != nil || now.Before(rc.retryAt) {
		return false
	}
	rc.busy = true
	rc.status.State = riskmeshv1.CatalogState_CATALOG_STATE_BUILDING // the last error stays until the outcome
	return true
}

// fetch runs one attempt for k and records its outcome.
func (m *Mirror) fetch(ctx context.Context, v *registry.View, k catalogKey) {
	w, err := m.wanted(ctx, v, k)
	var (
		psi *catalogpsi.Requester
		cat *catalog.Catalog
	)
	if err == nil {
		psi, cat, err = m.download(ctx, w, func(done, total uint64) {
			m.setStatus(k, func(s *riskmeshv1.RemoteCatalog) {
				s.BytesDone, s.TotalLength = done, total
			})
		})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.changed)
	m.changed = make(chan struct{})
	rc := m.m[k]
	rc.busy = false
	s := rc.status
	s.UpdatedAt = timestamppb.New(m.cfg.Now())
	if w != nil {
		s.Digest = w.digest[:]
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: not the provider's failure
		}
		// The error may quote the provider (a refusal, a transport
		// error): the API returns it, so it must encode.
		s.State, s.Error = riskmeshv1.CatalogState_CATALOG_STATE_FAILED, printable.String(err.Error(), riskmeshv1.MaxErrorMessage)
		if errors.Is(err, errNoDigest) {
			// Not a failure: look again soon, without backing off.
			rc.retryAt = m.cfg.Now().Add(m.cfg.CatalogRetry)
		} else {
			rc.failures++
			rc.retryAt = m.cfg.Now().Add(backoff.Delay(m.cfg.CatalogRetry, m.cfg.MaxCatalogRetry, rc.failures))
			m.cfg.Logger.Warn("catalog download failed", "provider", k.provider, "category", k.category,
				"period", k.period, "attempt", rc.failures, "err", err)
		}
		return
	}
	rc.psi, rc.keyID, rc.failures = psi, w.key.KeyID(), 0
	s.State, s.Error = riskmeshv1.CatalogState_CATALOG_STATE_READY, ""
	s.Items = uint64(cat.Len())
	s.TotalLength, s.BytesDone = uint64(cat.EncodedLen()), uint64(cat.EncodedLen())
	m.cfg.Logger.Info("catalog ready", "provider", k.provider, "category", k.category,
		"period", k.period, "items", cat.Len())
}

// wanted reads what the ledger says about k: the digest and OPRF key the
// provider published the catalog with (the registry's current key may
// already be a rotated one, used from a later period on).
func (m *Mirror) wanted(ctx context.Context, v *registry.View, k catalogKey) (*want, error) {
	inst, ok := v.Institution(k.provider)
	if !ok {
		return nil, fmt.Errorf("provider %s left the registry", k.provider)
	}
	lctx, cancel := context.WithTimeout(ctx, m.cfg.PhaseTimeout)
	defer cancel()
	rec, err := m.cfg.Directory.Catalog(lctx, k.provider, k.category, k.period)
	if errors.Is(err, accounting.ErrNotFound) {
		return nil, errNoDigest
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog digest: %w", err)
	}
	if len(rec.Digest) != catalog.DigestSize {
		return nil, fmt.Errorf("ledger digest of %d bytes", len(rec.Digest))
	}
	key := new(oprf.PublicKey)
	if err := key.UnmarshalBinary(rec.OPRFKey); err != nil {
		return nil, fmt.Errorf("published OPRF key: %w", err)
	}
	return &want{inst: inst, category: k.category, period: k.period, digest: [catalog.DigestSize]byte(rec.Digest), key: key}, nil
}

func (m *Mirror) setStatus(k catalogKey, f func(*riskmeshv1.RemoteCatalog)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rc := m.m[k]; rc != nil {
		f(rc.status)
		rc.status.UpdatedAt = timestamppb.New(m.cfg.Now())
	}
}

// supersede forgets the catalogs of periods before period: queries are
// billed in the current period, whose PRF differs. Their files go too.
func (m *Mirror) supersede(period uint64) {
	m.mu.Lock()
	var old []catalogKey
	for k, rc := range m.m {
		if k.period < period && !rc.busy {
			old = append(old, k)
			delete(m.m, k)
		}
	}
	m.mu.Unlock()
	for _, k := range old {
		if _, final, err := catalogPaths(m.cfg.CatalogDir, k.provider, k.category, k.period); err == nil {
			matches, _ := filepath.Glob(final + "*")
			for _, f := range matches {
				_ = os.Remove(f)
			}
		}
	}
}
