package provider

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/labelhash"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// served is a published catalog this node serves from its file.
type served struct {
	meta   catalog.Meta
	items  uint64
	length int64
	digest [catalog.DigestSize]byte
	key    *oprf.PrivateKey // the key it was built under (meta.KeyID), which answers its period

	mu   sync.RWMutex // readers hold it across ReadAt; close takes it
	file *os.File     // nil once closed
}

// readAt reads the encoding at off; false if the catalog was retired.
func (sv *served) readAt(b []byte, off int64) (bool, error) {
	sv.mu.RLock()
	defer sv.mu.RUnlock()
	if sv.file == nil {
		return false, nil
	}
	_, err := sv.file.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return true, err
}

// close closes the file once no download is reading it.
func (sv *served) close() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.file != nil {
		sv.file.Close()
		sv.file = nil
	}
}

// catalogSet holds, per category, the catalogs being served (current and
// previous period) and the status of each build.
type catalogSet struct {
	mu      sync.Mutex
	ready   map[string]map[uint64]*served                  // category -> period
	status  map[string]map[uint64]*riskmeshv1.LocalCatalog // category -> period
	settled chan struct{}                                  // closed when a build ends (READY or FAILED), then replaced
}

func (s *catalogSet) init() {
	s.ready = map[string]map[uint64]*served{}
	s.status = map[string]map[uint64]*riskmeshv1.LocalCatalog{}
	s.settled = make(chan struct{})
}

// CatalogChanges returns a channel that is closed the next time a catalog
// becomes READY or FAILED; call it again after it fires.
func (p *Provider) CatalogChanges() <-chan struct{} {
	p.cats.mu.Lock()
	defer p.cats.mu.Unlock()
	return p.cats.settled
}

// signal wakes CatalogChanges waiters; s.mu must be held.
func (s *catalogSet) signal() {
	close(s.settled)
	s.settled = make(chan struct{})
}

// get returns the served catalog for (category, period), if any.
func (s *catalogSet) get(category string, period uint64) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready[category][period]
}

// update changes the status of a (category, period) build under the lock.
func (s *catalogSet) update(category string, period uint64, now time.Time, fn func(*riskmeshv1.LocalCatalog)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byPeriod := s.status[category]
	if byPeriod == nil {
		byPeriod = map[uint64]*riskmeshv1.LocalCatalog{}
		s.status[category] = byPeriod
	}
	st := byPeriod[period]
	if st == nil {
		st = &riskmeshv1.LocalCatalog{Category: category, Period: period}
		byPeriod[period] = st
	}
	fn(st)
	st.UpdatedAt = timestamppb.New(now)
	if st.State == riskmeshv1.CatalogState_CATALOG_STATE_READY || st.State == riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
		s.signal()
	}
}

// servedUnder reports whether a catalog of category built under key is
// being served.
func (s *catalogSet) servedUnder(category string, key *oprf.PrivateKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.ready[category] {
		if sv.key.Public().Equal(key.Public()) {
			return true
		}
	}
	return false
}

// install starts serving sv for its category and period; the previous
// period's catalog keeps serving (requesters finish their grace-window
// queries) and is marked superseded.
func (s *catalogSet) install(sv *served, now time.Time) {
	cat, period := sv.meta.Category, sv.meta.Period
	s.mu.Lock()
	if s.ready[cat] == nil {
		s.ready[cat] = map[uint64]*served{}
	}
	s.ready[cat][period] = sv
	for q, st := range s.status[cat] {
		if q < period && st.State == riskmeshv1.CatalogState_CATALOG_STATE_READY {
			st.State = riskmeshv1.CatalogState_CATALOG_STATE_SUPERSEDED
			st.Serving = q+1 == period
			st.UpdatedAt = timestamppb.New(now)
		}
	}
	s.mu.Unlock()
	s.update(cat, period, now, func(st *riskmeshv1.LocalCatalog) {
		st.State = riskmeshv1.CatalogState_CATALOG_STATE_READY
		st.Serving = true
		st.Items = sv.items
		st.TotalLength = uint64(sv.length)
		st.Digest = sv.digest[:]
		st.EntriesDone = sv.items
		st.Error = ""
	})
}

// prune stops serving catalogs older than the previous period, closes their
// files and forgets their status.
func (s *catalogSet) prune(current uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, byPeriod := range s.ready {
		for q, sv := range byPeriod {
			if q+1 < current {
				go sv.close() // after in-flight downloads, without holding s.mu
				delete(byPeriod, q)
			}
		}
	}
	for _, byPeriod := range s.status {
		for q := range byPeriod {
			if q+1 < current {
				delete(byPeriod, q)
			} else if q+1 == current {
				byPeriod[q].Serving = s.ready[byPeriod[q].Category][q] != nil
			}
		}
	}
}

// CatalogStatus reports the catalogs of category (all if empty), by
// category then period.
func (p *Provider) CatalogStatus(category string) []*riskmeshv1.LocalCatalog {
	s := &p.cats
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*riskmeshv1.LocalCatalog
	for _, cat := range p.categories() {
		if category != "" && cat != category {
			continue
		}
		periods := make([]uint64, 0, len(s.status[cat]))
		for q := range s.status[cat] {
			periods = append(periods, q)
		}
		slices.Sort(periods)
		for _, q := range periods {
			out = append(out, cloneStatus(s.status[cat][q]))
		}
	}
	return out
}

func cloneStatus(st *riskmeshv1.LocalCatalog) *riskmeshv1.LocalCatalog {
	return proto.Clone(st).(*riskmeshv1.LocalCatalog)
}

// categories lists the provided categories in a stable order.
func (p *Provider) categories() []string {
	cats := make([]string, 0, len(p.keys))
	for c := range p.keys {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	return cats
}

// ensureCatalog makes (category, period) served: from an existing file if
// it is the published one (or nothing is published yet and it was built
// under the current key), else by building.
func (p *Provider) ensureCatalog(ctx context.Context, category string, period uint64) error {
	if p.cats.get(category, period) != nil {
		return nil
	}
	key, published, err := p.catalogKey(ctx, category, period)
	if err != nil {
		return p.failed(category, period, err)
	}
	path := p.catalogPath(category, period)
	var declared *accounting.CatalogStats
	sv, err := openServed(path, published, key)
	if err == nil && published == nil {
		if declared, err = readDeclared(p.statsPath(category, period), sv.digest); err != nil {
			sv.close()
		}
	}
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("provider: catalog file not usable; rebuilding", "category", category, "period", period, "err", err)
		}
		if sv, declared, err = p.build(ctx, category, period, path, key); err != nil {
			return p.failed(category, period, err)
		}
		if published != nil && sv.digest != *published {
			sv.close()
			return p.failed(category, period, fmt.Errorf("%w (period %d)", ErrRebuiltDiffers, period))
		}
	}
	// A published catalog is fixed on the ledger with its statistics, so it
	// is served as it is, never published again: statistics computed anew
	// (another day's ages, a previous set since pruned) would conflict.
	if published == nil {
		if err := p.publish(ctx, sv, declared); err != nil {
			sv.close()
			return p.failed(category, period, err)
		}
	}
	p.cats.install(sv, p.cfg.Now())
	p.log.Info("provider: catalog serving", "category", category, "period", period, "items", sv.items)
	return nil
}

// catalogKey returns the key the catalog of (category, period) is built
// under and served with. A published catalog is fixed on the ledger with
// its digest (returned too) and key, so it must be that key, the current or
// the previous one (ErrKeyNotHeld otherwise: building another catalog would
// only conflict with the published one). Otherwise it is the current key.
func (p *Provider) catalogKey(ctx context.Context, category string, period uint64) (*oprf.PrivateKey, *[catalog.DigestSize]byte, error) {
	ring := p.keys[category]
	c, err := p.cfg.Ledger.Catalog(ctx, p.cfg.MSPID, category, period)
	switch {
	case errors.Is(err, accounting.ErrNotFound):
		cur, _ := ring.get()
		return cur, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read published catalog: %w", err)
	case len(c.Digest) != catalog.DigestSize:
		return nil, nil, fmt.Errorf("published catalog digest of %d bytes", len(c.Digest))
	}
	key, ok := ring.holding(c.OPRFKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w (period %d)", ErrKeyNotHeld, period)
	}
	return key, (*[catalog.DigestSize]byte)(c.Digest), nil
}

// reopenPrevious serves the previous period's published catalog file
// again after a restart, for requesters still querying it in its grace
// window. It never builds: a missing or unpublished catalog stays missing.
func (p *Provider) reopenPrevious(ctx context.Context, category string, period uint64) {
	if period == 0 || p.cats.get(category, period) != nil {
		return
	}
	key, published, err := p.catalogKey(ctx, category, period)
	if errors.Is(err, ErrKeyNotHeld) {
		p.log.Warn("provider: previous period's catalog not served", "category", category, "period", period, "err", err)
	}
	if err != nil || published == nil {
		return
	}
	sv, err := openServed(p.catalogPath(category, period), published, key)
	if err != nil {
		return
	}
	p.cats.install(sv, p.cfg.Now())
}

func (p *Provider) failed(category string, period uint64, err error) error {
	p.cats.update(category, period, p.cfg.Now(), func(st *riskmeshv1.LocalCatalog) {
		st.State = riskmeshv1.CatalogState_CATALOG_STATE_FAILED
		st.Serving = false
		st.Error = err.Error()
	})
	return err
}

// removeOldFiles deletes catalog files of periods before the previous one
// and temporary files of builds a crash interrupted. Builds run only inside
// maintain, before this, so no temporary file is in use.
func (p *Provider) removeOldFiles(category string, current uint64) error {
	dir := filepath.Dir(p.catalogPath(category, current))
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range des {
		name := de.Name()
		old := strings.HasPrefix(name, tmpPrefix)
		for _, suffix := range []string{catalogSuffix, statsSuffix} {
			if n, ok := strings.CutSuffix(name, suffix); ok {
				q, err := strconv.ParseUint(n, 10, 64)
				old = err == nil && q+1 < current
			}
		}
		if old {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// File names under DataDir/catalogs/<category>/.
const (
	catalogSuffix = ".cat"
	tmpPrefix     = ".building-"
)

// catalogPath is DataDir/catalogs/<category>/<period>.cat.
func (p *Provider) catalogPath(category string, period uint64) string {
	return filepath.Join(p.cfg.DataDir, "catalogs", category, strconv.FormatUint(period, 10)+catalogSuffix)
}

// build reads the category's sources, builds the catalog under key and
// writes it to path atomically, then the statistics it declares (nil if
// none) to its stats file (catalogstats.go).
func (p *Provider) build(ctx context.Context, category string, period uint64, path string, key *oprf.PrivateKey) (*served, *accounting.CatalogStats, error) {
	now := p.cfg.Now()
	var hint uint64
	if prev := p.cats.get(category, period-1); prev != nil {
		hint = prev.items
	}
	p.cats.update(category, period, now, func(st *riskmeshv1.LocalCatalog) {
		st.State = riskmeshv1.CatalogState_CATALOG_STATE_BUILDING
		st.Serving, st.EntriesDone, st.EntriesTotal, st.Error, st.StaleSources = false, 0, hint, "", nil
	})
	stale, err := p.readSources(ctx, category, period)
	if err != nil {
		return nil, nil, fmt.Errorf("build catalog: %w", err)
	}
	p.cats.update(category, period, p.cfg.Now(), func(st *riskmeshv1.LocalCatalog) { st.StaleSources = stale })
	today, err := catalog.DateOf(now)
	if err != nil {
		return nil, nil, fmt.Errorf("build catalog: %w", err)
	}
	t := &tally{today: today, hashes: make([]uint64, 0, hint)}
	entries, readErr := p.entries(category)
	cat, err := catalogpsi.NewProvider(p.cfg.MSPID, key).BuildCatalog(ctx, buildSeed(p.cfg.MSPID, category, period), category, period,
		t.count(entries), int(hint), func(done int) {
			p.cats.update(category, period, p.cfg.Now(), func(st *riskmeshv1.LocalCatalog) { st.EntriesDone = uint64(done) })
		})
	if err == nil {
		err = *readErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("build catalog: %w", err)
	}
	digest, err := writeAtomic(path, cat)
	if err != nil {
		return nil, nil, err
	}
	declared, err := p.declareStats(ctx, category, period, t)
	if err == nil {
		err = writeStats(p.statsPath(category, period), digest, declared, t.hashes)
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reopen catalog: %w", err)
	}
	return &served{meta: cat.Meta(), items: uint64(cat.Len()), length: cat.EncodedLen(), digest: digest, key: key, file: f}, declared, nil
}

// readSources reads every source of category to its last good read
// (lastgood.go). A source that fails is taken from the last good read it
// already has, reported in the result and logged; without one the build
// fails, as a catalog missing a whole list must not be published.
func (p *Provider) readSources(ctx context.Context, category string, period uint64) ([]*riskmeshv1.StaleSource, error) {
	var stale []*riskmeshv1.StaleSource
	for _, s := range p.cfg.Sources {
		if s.Category != category {
			continue
		}
		_, readErr, err := p.readSource(ctx, s)
		switch {
		case err != nil:
			return nil, err
		case readErr == nil:
			continue
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		good, ok := p.sources.lastGood(s.Name)
		if !ok {
			return nil, fmt.Errorf("source %s (no last good read to fall back on): %w", s.Name, readErr)
		}
		p.log.Warn("provider: LIST SOURCE UNREADABLE; catalog built from its last good read",
			"source", s.Name, "category", category, "period", period,
			"last_good", good.UTC().Format(time.RFC3339), "age", p.cfg.Now().Sub(good).Round(time.Second), "err", readErr)
		stale = append(stale, &riskmeshv1.StaleSource{Source: s.Name, LastGood: timestamppb.New(good), Error: readErr.Error()})
	}
	return stale, nil
}

// entries streams the entries of every source of category from the last
// good reads readSources left, each source's listed entries first (less
// those its imported entries replace), then its imported ones. The
// imported sets are read in one bbolt read transaction, so an Import that
// commits during the build is either wholly in it or wholly out (see
// importSnapshot for what holding it costs). A failure (a damaged last
// good read or imported entry) ends the stream and its error is left in
// *readErr for the caller to check after the build: a catalog missing part
// of a list must not be published.
func (p *Provider) entries(category string) (iter.Seq[catalogpsi.Entry], *error) {
	readErr := new(error)
	seq := func(yield func(catalogpsi.Entry) bool) {
		tx, err := p.importSnapshot(category)
		if err != nil {
			*readErr = fmt.Errorf("read imported entries: %w", err)
			return
		}
		if tx != nil {
			defer tx.Rollback()
		}
		for _, s := range p.cfg.Sources {
			if s.Category != category {
				continue
			}
			imported := p.openImported(tx, s)
			for e, err := range p.replay(s) {
				if err != nil {
					*readErr = fmt.Errorf("source %s: %w", s.Name, err)
					return
				}
				if imported.shadows(e) {
					continue
				}
				if !yield(e) {
					return
				}
			}
			for e, err := range imported.all() {
				if err != nil {
					*readErr = fmt.Errorf("source %s: %w", s.Name, err)
					return
				}
				if !yield(e) {
					return
				}
			}
		}
	}
	return seq, readErr
}

// buildSeed is the catalog construction's randomness: a ChaCha8 stream
// keyed by (provider, category, period). The seeds a catalog needs are
// public (they are in its encoding), and determinism means rebuilding
// unchanged lists for a period reproduces the digest already published,
// which the ledger would refuse to replace.
func buildSeed(msp, category string, period uint64) io.Reader {
	h := labelhash.New("riskmesh/v1/provider/catalog-seed")
	for _, s := range []string{msp, category} {
		h.Write([]byte{byte(len(s))})
		h.Write([]byte(s))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, period))
	return rand.NewChaCha8([32]byte(h.Sum(nil)))
}

// writeAtomic writes cat's encoding to path through a synced temporary
// file and a rename, so a crash leaves either no file or a whole one.
func writeAtomic(path string, cat *catalog.Catalog) ([catalog.DigestSize]byte, error) {
	var digest [catalog.DigestSize]byte
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return digest, fmt.Errorf("catalog directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return digest, fmt.Errorf("catalog file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	digest, err = cat.Encode(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = commitTemp(tmp, path)
	} else {
		tmp.Close()
	}
	if err != nil {
		return digest, fmt.Errorf("write catalog: %w", err)
	}
	return digest, nil
}

// commitTemp syncs and closes tmp, a whole new file written in path's
// directory, renames it to path and syncs the directory, so a crash leaves
// either the old file or the new one. It closes tmp in every case; the
// caller removes it if this fails.
func commitTemp(tmp *os.File, path string) error {
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(path))
	}
	return err
}

// openServed opens a catalog file written earlier, decoding it to check it:
// its digest against the published one, if any, and that it was built
// under key.
func openServed(path string, published *[catalog.DigestSize]byte, key *oprf.PrivateKey) (*served, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		var cat *catalog.Catalog
		cat, err = catalog.Decode(bufio.NewReaderSize(f, 1<<20), catalog.DecodeConfig{
			MaxBytes: fi.Size(), MaxItems: catalog.MaxItems, ExpectedDigest: published,
		})
		if err == nil && cat.Meta().KeyID != [catalog.KeyIDSize]byte(key.Public().KeyID()) {
			err = errors.New("catalog file built under another OPRF key")
		}
		if err == nil {
			return &served{meta: cat.Meta(), items: uint64(cat.Len()), length: cat.EncodedLen(), digest: cat.Digest(), key: key, file: f}, nil
		}
	}
	f.Close()
	return nil, err
}

// publish registers the category's current OPRF key if the registry view
// shows another one, then the catalog's digest, the key it was built under
// and the statistics declared with it (a no-op if already published so).
func (p *Provider) publish(ctx context.Context, sv *served, declared *accounting.CatalogStats) error {
	cat, period := sv.meta.Category, sv.meta.Period
	p.cats.update(cat, period, p.cfg.Now(), func(st *riskmeshv1.LocalCatalog) {
		st.State = riskmeshv1.CatalogState_CATALOG_STATE_PUBLISHING
		st.Items, st.TotalLength, st.Digest = sv.items, uint64(sv.length), sv.digest[:]
	})
	if err := p.register(ctx, cat); err != nil {
		return err
	}
	c := accounting.Catalog{Category: cat, Period: period, Digest: sv.digest[:], OPRFKey: encodePublic(sv.key), Stats: declared}
	if err := p.cfg.Ledger.PublishCatalog(ctx, c); err != nil {
		return fmt.Errorf("publish catalog digest: %w", err)
	}
	return nil
}
