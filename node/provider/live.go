package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Live mode (docs/protocol/hepsi.md, "Served by the node"): for each
// category served live the provider keeps an hepsi Database of the PRF
// outputs of the category's entries under the period's answering key (the
// key of the period's catalog, so the requester verifies the POPRF step
// against the same on-chain key as in catalog mode), each with its
// catalog.Label. It follows the list source: after every change of what
// it is built from (a source's last good read replaced by one with other
// entries, by Refresh, a scheduled refresh or a build; an Import
// committed), syncLive compares the entries with what the database holds
// and adds and removes only the difference, which touches only those
// entries' bins. A new period or key
// rebuilds it, as the PRF outputs all change; a large difference does too.
// Builds run off the lock that serialises updates, and a restart reads
// the database back from its snapshot (live_persist.go) instead.
//
// A sync with no list change since the database's last read of the list
// reads nothing: reading and diffing 10^6 entries costs several
// CPU-seconds, and Run syncs after every registry change (any member's
// key or profile registered, a settlement), after the catalog builds of a
// new period, and after each build of the database itself (its catch-up),
// which would otherwise all run beside the queries.

// DefaultLiveBatch is the most identifiers one live query carries when
// Config.LiveBatch is zero: one ciphertext row of the hepsi table
// (docs/protocol/hepsi.md, "Parameters").
const DefaultLiveBatch = 1024

// minLiveSize is the smallest list size the live parameters are chosen
// for: a database grows into it without a rebuild.
const minLiveSize = 10_000

// liveIncrementalMax is the largest difference syncLive applies in place:
// each change recomputes about three bins under the database's write lock,
// which holds answers back (about 20 ms a change at 10^6 entries), so a
// larger one is applied by building a new database off the lock while the
// current one keeps answering.
const liveIncrementalMax = 256

// liveSet holds the live databases. sync serialises the short steps: a
// difference applied in place, a database published, a snapshot frozen
// (two diffs at once could apply an older read last); saving serialises
// snapshot writes, which run off sync (live_persist.go). Building a database
// from the whole list, or reading one back from its snapshot, runs off
// it (building marks the category), so it never holds Refresh or another
// category back; mu guards the maps; the databases answer concurrently
// under their own locks.
//
// versions counts each category's list changes (listChanged): a database
// records the version its entries were read at, and a sync reads the list
// again only once the count moved on. reads counts whole-list reads
// (liveEntries), which the tests hold to those changes.
type liveSet struct {
	sync     sync.Mutex
	saving   sync.Mutex
	mu       sync.Mutex
	m        map[string]*liveDB // by category
	building map[string]bool    // categories with a build running
	versions map[string]uint64  // by category, under mu
	reads    atomic.Int64
}

// liveDB is one category's database and what it was built from.
type liveDB struct {
	period uint64
	key    oprf.KeyID
	// sizedFor is the list size the parameters were chosen for.
	sizedFor int
	db       *hepsi.Database
	// entries maps each entry's OPRF input (the canonical identifier) to
	// its PRF output and encoded label: the state syncLive diffs against.
	// It is replaced, never changed in place, under liveSet.sync.
	entries map[string]liveEntry
	// dirty reports changes the snapshot on disk lacks; savedAt is when
	// it was last written or read (live_persist.go). Both under
	// liveSet.sync.
	dirty   bool
	savedAt time.Time
	// loaded reports a database read back from its snapshot.
	loaded bool
	// synced reports that entries are the list as it stood at the list
	// version listVersion (liveSet.versions); a database read back from its
	// snapshot is not, until a sync read the list. Both under
	// liveSet.sync.
	synced      bool
	listVersion uint64
}

type liveEntry struct {
	output [oprf.OutputSize]byte
	label  [catalog.LabelSize]byte
}

var (
	// errLabelConflict reports an identifier listed twice with different
	// labels, which catalog.Builder refuses too.
	errLabelConflict = errors.New("provider: an identifier is listed twice with different labels")
	// errLiveBuilding reports a category whose live database is being
	// built: the build applies the list as it stands when it ends.
	errLiveBuilding = errors.New("provider: live database building")
)

// servesLive reports whether category is served in live mode.
func (p *Provider) servesLive(category string) bool { return p.cfg.Serve[category]&ServeLive != 0 }

// servesCatalog reports whether category's catalogs are built and published.
func (p *Provider) servesCatalog(category string) bool {
	m, ok := p.cfg.Serve[category]
	return !ok || m&ServeCatalog != 0
}

// liveDatabase returns category's database for period, or nil while none
// is ready for it.
func (p *Provider) liveDatabase(category string, period uint64, key oprf.KeyID) *hepsi.Database {
	if l := p.currentLive(category, period, key); l != nil {
		return l.db
	}
	return nil
}

// currentLive returns category's liveDB if it is period's under key.
func (p *Provider) currentLive(category string, period uint64, key oprf.KeyID) *liveDB {
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	l := p.live.m[category]
	if l == nil || l.period != period || l.key != key {
		return nil
	}
	return l
}

// publishLive makes l category's database.
func (p *Provider) publishLive(category string, l *liveDB) {
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	if p.live.m == nil {
		p.live.m = map[string]*liveDB{}
	}
	p.live.m[category] = l
}

// startBuild marks category as building, unless it already is.
func (s *liveSet) startBuild(category string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.building[category] {
		return false
	}
	if s.building == nil {
		s.building = map[string]bool{}
	}
	s.building[category] = true
	return true
}

// isBuilding reports whether a build of category's database is running.
func (s *liveSet) isBuilding(category string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.building[category]
}

// liveNotReady refuses a live request for category, which has no database
// for the request's period and key: UNAVAILABLE, saying "building" while a
// build runs (a first build, or one for a new period or key), so the
// requester can tell a database on its way from one that is not.
func (p *Provider) liveNotReady(category string) *riskmeshv1.PeerResponse {
	if p.live.isBuilding(category) {
		return refuse(codeUnavailable, "live database of %s building", category)
	}
	return refuse(codeUnavailable, "live database of %s not ready", category)
}

func (s *liveSet) endBuild(category string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.building, category)
}

// listChanged records that what category's live database is built from
// changed: a source's last good read was replaced by one with other
// entries (or by the first this process read), or an import committed.
// Call it after the change is in place (the file renamed, the transaction
// committed): a sync reads the version before the list, so it either
// reads the changed list or records an older version and reads the list
// again at its next sync.
func (p *Provider) listChanged(category string) {
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	if p.live.versions == nil {
		p.live.versions = map[string]uint64{}
	}
	p.live.versions[category]++
}

// listVersion returns category's list version (listChanged).
func (s *liveSet) listVersion(category string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[category]
}

// syncLive brings category's live database in line with its sources' last
// good reads and imports for the current period: a difference of at most
// liveIncrementalMax entries is applied in place; otherwise, and for a new
// period or key, a database is read back from its snapshot or built off
// the sync lock (the current one answering meanwhile), published, and the
// list's changes during the build applied to it. It returns the number of
// entries added and removed in place; errLiveBuilding if another call is
// building the database already.
func (p *Provider) syncLive(ctx context.Context, category string) (added, removed int, err error) {
	if !p.servesLive(category) {
		return 0, 0, nil
	}
	period := p.cfg.Directory.View().Period.Number
	if period == 0 {
		return 0, 0, nil
	}
	key := p.answeringKey(category, period)
	// A database read back from its snapshot may still need a rebuild for
	// what changed since; one built from the list takes its catch-up in
	// place.
	mayRebuild := true
	for range 3 {
		p.live.sync.Lock()
		l := p.currentLive(category, period, key.Public().KeyID())
		rebuild, prev := 0, map[string]liveEntry(nil)
		if l != nil {
			added, removed, rebuild, err = p.applyLive(category, period, key, l, mayRebuild)
			if err != nil || rebuild == 0 {
				p.live.sync.Unlock()
				if err == nil {
					p.saveLiveIfDue(category, l)
				}
				return added, removed, err
			}
			prev = l.entries
		}
		if !p.live.startBuild(category) {
			p.live.sync.Unlock()
			return 0, 0, errLiveBuilding
		}
		p.live.sync.Unlock()
		loaded, err := p.buildLive(ctx, category, period, key, rebuild, prev)
		p.live.endBuild(category)
		if err != nil {
			return 0, 0, err
		}
		mayRebuild = loaded
	}
	return 0, 0, errLiveBuilding
}

// applyLive applies the difference between category's entries and l in
// place (the caller saves it when the snapshot is due), reading nothing if
// the list has not changed since l's entries were read. If the difference
// is too large for that, or the database is full, and mayRebuild, it
// changes nothing and returns the list size to build a new database for.
// Called with liveSet.sync held.
func (p *Provider) applyLive(category string, period uint64, key *oprf.PrivateKey, l *liveDB, mayRebuild bool) (added, removed, rebuild int, err error) {
	version := p.live.listVersion(category)
	if l.synced && l.listVersion == version {
		return 0, 0, 0, nil
	}
	want, err := p.liveEntries(category, period, key, l.entries)
	if err != nil {
		return 0, 0, 0, err
	}
	var add, rm []liveEntry
	for id, e := range want {
		old, ok := l.entries[id]
		if ok && old == e {
			continue
		}
		if ok {
			rm = append(rm, old)
		}
		add = append(add, e)
	}
	for id, old := range l.entries {
		if _, ok := want[id]; !ok {
			rm = append(rm, old)
		}
	}
	if mayRebuild && len(add)+len(rm) > liveIncrementalMax {
		return 0, 0, max(len(want), l.sizedFor), nil
	}
	err = l.apply(rm, add)
	if errors.Is(err, hepsi.ErrFull) && mayRebuild {
		// The list outgrew the parameters: build for twice its size.
		return 0, 0, 2 * len(want), nil
	}
	if err != nil {
		return 0, 0, 0, err
	}
	l.entries, l.synced, l.listVersion = want, true, version
	l.dirty = l.dirty || len(add)+len(rm) > 0
	return len(add), len(rm), 0, nil
}

// buildLive makes category's database for period off the sync lock and
// publishes it: for a first build (size 0) the snapshot, if it is this
// period's and opens (loaded), or else the list's entries, evaluated under
// key except those prev holds, in a database sized for at least size
// entries (twice the list if that proves too small).
func (p *Provider) buildLive(ctx context.Context, category string, period uint64, key *oprf.PrivateKey, size int, prev map[string]liveEntry) (loaded bool, err error) {
	keyID := key.Public().KeyID()
	if !p.servesCatalog(category) {
		// No catalog build reads the sources for this period, nor puts
		// the key requesters verify answers against on the ledger.
		if err := p.register(ctx, category); err != nil {
			return false, err
		}
	}
	if size == 0 {
		l, err := p.loadLive(category, period, keyID)
		switch {
		case err != nil:
			p.log.Warn("provider: live database snapshot refused; building the database from the list", "category", category, "err", err)
			p.removeLiveSnapshot(category)
		case l != nil:
			p.live.sync.Lock()
			p.publishLive(category, l)
			p.live.sync.Unlock()
			return true, nil
		}
		if !p.servesCatalog(category) {
			if _, err := p.readSources(ctx, category, period); err != nil {
				return false, err
			}
		}
	}
	version := p.live.listVersion(category)
	want, err := p.liveEntries(category, period, key, prev)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	size = max(len(want), size)
	var l *liveDB
	for _, n := range []int{size, 2 * size} {
		if l, err = p.newLiveDB(period, keyID, n); err == nil {
			err = l.apply(nil, slices.Collect(maps.Values(want)))
		}
		if !errors.Is(err, hepsi.ErrFull) {
			break
		}
	}
	if err != nil {
		return false, err
	}
	l.entries, l.dirty, l.synced, l.listVersion = want, true, true, version
	p.live.sync.Lock()
	p.publishLive(category, l)
	p.live.sync.Unlock()
	p.saveLiveIfDue(category, l)
	return false, nil
}

// apply removes rm and adds add as one change: if the addition fails, the
// removed entries are put back, so the database still holds l.entries.
func (l *liveDB) apply(rm, add []liveEntry) error {
	if len(rm) > 0 {
		if err := l.db.Remove(outputs(rm)); err != nil {
			return fmt.Errorf("live database: remove %d entries: %w", len(rm), err)
		}
	}
	if len(add) == 0 {
		return nil
	}
	err := l.db.Add(outputs(add), labelsOf(add))
	if err == nil {
		return nil
	}
	if len(rm) > 0 {
		if rerr := l.db.Add(outputs(rm), labelsOf(rm)); rerr != nil {
			return fmt.Errorf("live database: add %d entries: %w (and restoring the removed ones: %v)", len(add), err, rerr)
		}
	}
	return fmt.Errorf("live database: add %d entries: %w", len(add), err)
}

func outputs(es []liveEntry) [][]byte {
	out := make([][]byte, len(es))
	for i := range es {
		out[i] = es[i].output[:]
	}
	return out
}

func labelsOf(es []liveEntry) [][]byte {
	out := make([][]byte, len(es))
	for i := range es {
		out[i] = es[i].label[:]
	}
	return out
}

// newLiveDB returns an empty database sized for about size entries.
func (p *Provider) newLiveDB(period uint64, key oprf.KeyID, size int) (*liveDB, error) {
	params, err := hepsi.ParamsFor(max(size, minLiveSize), p.cfg.LiveBatch, catalog.LabelSize)
	if err != nil {
		return nil, fmt.Errorf("live parameters: %w", err)
	}
	db, err := hepsi.NewDatabase(params)
	if err != nil {
		return nil, fmt.Errorf("live database: %w", err)
	}
	return &liveDB{period: period, key: key, sizedFor: size, db: db, entries: map[string]liveEntry{}}, nil
}

// liveEntries returns every entry of category's last good reads and
// imports (the entries a catalog build reads) with its PRF output under
// key, evaluating only the identifiers prev (the entries of a database of
// the same period and key, or nil) does not hold already.
func (p *Provider) liveEntries(category string, period uint64, key *oprf.PrivateKey, prev map[string]liveEntry) (map[string]liveEntry, error) {
	p.live.reads.Add(1)
	ev, err := p.evaluator(category, period, key)
	if err != nil {
		return nil, fmt.Errorf("live database: evaluator: %w", err)
	}
	out := map[string]liveEntry{}
	var (
		inputs [][]byte
		labels [][catalog.LabelSize]byte
		prf    [][oprf.OutputSize]byte
	)
	flush := func() error {
		prf = prf[:0]
		for range inputs {
			prf = append(prf, [oprf.OutputSize]byte{})
		}
		if err := ev.EvaluateBatch(prf, inputs); err != nil {
			return fmt.Errorf("live database: evaluate: %w", err)
		}
		for i, in := range inputs {
			e := liveEntry{output: prf[i], label: labels[i]}
			if old, dup := out[string(in)]; dup && old.label != e.label {
				return errLabelConflict
			}
			out[string(in)] = e
		}
		inputs, labels = inputs[:0], labels[:0]
		return nil
	}
	entries, readErr := p.entries(category)
	for e := range entries {
		var lb [catalog.LabelSize]byte
		enc, err := e.Label.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("live database: label: %w", err)
		}
		copy(lb[:], enc)
		in := e.ID.AppendTo(nil)
		if prev != nil {
			if known, ok := prev[string(in)]; ok {
				if old, dup := out[string(in)]; dup && old.label != lb {
					return nil, errLabelConflict
				}
				out[string(in)] = liveEntry{output: known.output, label: lb}
				continue
			}
		}
		inputs, labels = append(inputs, in), append(labels, lb)
		if len(inputs) == liveChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if *readErr != nil {
		return nil, *readErr
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// liveChunk is how many entries are evaluated per batch.
const liveChunk = 4096

// syncLiveAll syncs every live category, logging failures: the previous
// database keeps answering until a sync succeeds.
func (p *Provider) syncLiveAll(ctx context.Context, categories []string) {
	for _, cat := range categories {
		added, removed, err := p.syncLive(ctx, cat)
		switch {
		case errors.Is(err, errLiveBuilding):
			p.log.Info("provider: live database building; the build applies this change", "category", cat)
		case err != nil && ctx.Err() == nil:
			p.log.Error("provider: live database not updated", "category", cat, "err", err)
		case added+removed > 0:
			p.log.Info("provider: live database updated", "category", cat, "added", added, "removed", removed)
		}
	}
}
