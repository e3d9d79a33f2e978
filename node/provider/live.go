package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Live mode (docs/protocol/hepsi.md, "Served by the node"): for each
// category served live the provider keeps an hepsi Database of the PRF
// outputs of the category's entries under the period's answering key (the
// key of the period's catalog, so the requester verifies the POPRF step
// against the same on-chain key as in catalog mode), each with its
// catalog.Label. It follows the list source: after every read of a source
// (Refresh, a scheduled refresh, an Import, a build), syncLive compares
// the entries with what the database holds and adds and removes only the
// difference, which touches only those entries' bins. A new period or key
// rebuilds it, as the PRF outputs all change.

// DefaultLiveBatch is the most identifiers one live query carries when
// Config.LiveBatch is zero: one ciphertext row of the hepsi table
// (docs/protocol/hepsi.md, "Parameters").
const DefaultLiveBatch = 1024

// minLiveSize is the smallest list size the live parameters are chosen
// for: a database grows into it without a rebuild.
const minLiveSize = 10_000

// liveSet holds the live databases. sync serialises syncs (a sync reads
// the sources, then applies the difference: two at once could apply an
// older read last); mu guards the map; the databases answer concurrently
// under their own locks.
type liveSet struct {
	sync sync.Mutex
	mu   sync.Mutex
	m    map[string]*liveDB // by category
}

// liveDB is one category's database and what it was built from.
type liveDB struct {
	period uint64
	key    oprf.KeyID
	db     *hepsi.Database
	// entries maps each entry's OPRF input (the canonical identifier) to
	// its PRF output and encoded label: the state syncLive diffs against.
	entries map[string]liveEntry
}

type liveEntry struct {
	output [oprf.OutputSize]byte
	label  [catalog.LabelSize]byte
}

// errLabelConflict reports an identifier listed twice with different
// labels, which catalog.Builder refuses too.
var errLabelConflict = errors.New("provider: an identifier is listed twice with different labels")

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
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	l := p.live.m[category]
	if l == nil || l.period != period || l.key != key {
		return nil
	}
	return l.db
}

// syncLive brings category's live database in line with its sources' last
// good reads and imports for the current period: a database of another
// period or key is rebuilt, otherwise only the entries added, removed or
// relabelled since the last sync are applied. It returns the number of
// entries added and removed.
func (p *Provider) syncLive(ctx context.Context, category string) (added, removed int, err error) {
	if !p.servesLive(category) {
		return 0, 0, nil
	}
	period := p.cfg.Directory.View().Period.Number
	if period == 0 {
		return 0, 0, nil
	}
	key := p.answeringKey(category, period)
	p.live.sync.Lock()
	defer p.live.sync.Unlock()
	p.live.mu.Lock()
	l := p.live.m[category]
	p.live.mu.Unlock()
	if l != nil && (l.period != period || l.key != key.Public().KeyID()) {
		l = nil
	}
	if l == nil && !p.servesCatalog(category) {
		// No catalog build read the sources for this period, nor put
		// the key requesters verify answers against on the ledger.
		if _, err := p.readSources(ctx, category, period); err != nil {
			return 0, 0, err
		}
		if err := p.register(ctx, category); err != nil {
			return 0, 0, err
		}
	}
	want, err := p.liveEntries(category, period, key, l)
	if err != nil {
		return 0, 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if l == nil {
		l, err = p.newLiveDB(period, key.Public().KeyID(), len(want))
		if err != nil {
			return 0, 0, err
		}
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
	err = l.apply(rm, add)
	if errors.Is(err, hepsi.ErrFull) {
		// The list outgrew the parameters: rebuild for its new size.
		if l, err = p.newLiveDB(period, key.Public().KeyID(), 2*len(want)); err == nil {
			rm, add = nil, slices.Collect(maps.Values(want))
			err = l.apply(nil, add)
		}
	}
	if err != nil {
		return 0, 0, err
	}
	l.entries = want
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	if p.live.m == nil {
		p.live.m = map[string]*liveDB{}
	}
	p.live.m[category] = l
	return len(add), len(rm), nil
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
	return &liveDB{period: period, key: key, db: db, entries: map[string]liveEntry{}}, nil
}

// liveEntries returns every entry of category's last good reads and
// imports (the entries a catalog build reads) with its PRF output under
// key, evaluating only the identifiers prev (a database of the same period
// and key, or nil) does not hold already.
func (p *Provider) liveEntries(category string, period uint64, key *oprf.PrivateKey, prev *liveDB) (map[string]liveEntry, error) {
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
			if known, ok := prev.entries[string(in)]; ok {
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
		case err != nil && ctx.Err() == nil:
			p.log.Error("provider: live database not updated", "category", cat, "err", err)
		case added+removed > 0:
			p.log.Info("provider: live database updated", "category", cat, "added", added, "removed", removed)
		}
	}
}
