package registry

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
)

// Ledger is the part of accounting.Ledger a Directory reads.
type Ledger interface {
	Institutions(ctx context.Context) ([]accounting.Institution, error)
	Accounts(ctx context.Context) ([]accounting.Account, error)
	Prices(ctx context.Context) (*accounting.PriceList, error)
	Period(ctx context.Context, n uint64) (*accounting.Period, error)
	Catalog(ctx context.Context, mspID, category string, period uint64) (*accounting.Catalog, error)
}

var _ Ledger = accounting.Ledger(nil)

// Watch waits until the view of the node that hosts the ledger may differ
// from the one whose Version was seen (0: none yet), or until its own wait
// ends, and returns the host's version then. ledgerrelay.Watch asks the
// host's Directory.WaitChange over the relay.
type Watch func(ctx context.Context, seen uint64) (uint64, error)

// WatchWait is how long a Directory's WaitChange holds a watch that saw no
// change before it answers with the same version: under the peer
// transport's HandleTimeout (30 s by default), so the answer is written,
// and long enough that an idle member asks once per WatchWait.
const WatchWait = 20 * time.Second

// Options configures a Directory. The zero value works.
type Options struct {
	// Refresh is how often Run refreshes the view (default 5s). With
	// Watch it is the wait before Run tries again after a failed watch.
	Refresh time.Duration
	// Timeout bounds each refresh Run makes (default 10s).
	Timeout time.Duration
	// Logger receives refresh failures and recoveries (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Watch, if set, makes Run refresh only when the ledger host says its
	// view changed, instead of every Refresh: a member reaching the
	// embedded ledger through the relay then asks nothing of the host
	// while nothing changes (docs/operations.md, "Registry refresh").
	Watch Watch
	// Poked makes Run refresh when Poke is called, at most once per
	// Refresh, and otherwise only every IdleRefresh: the ledger host pokes
	// its Directory after every transaction it relays, so its view (which
	// its members watch) follows the ledger without reading it twice a
	// second while nothing happens.
	Poked bool
}

// IdleRefresh is how often a Poked Directory refreshes without a Poke: it
// catches what changed the ledger without a poke.
const IdleRefresh = time.Minute

// Directory caches the ledger's registry, accounts, prices and current
// period for one node, so the node keeps working (stale but known) while the
// ledger is unreachable. It is safe for concurrent use.
type Directory struct {
	ledger  Ledger
	refresh time.Duration
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time
	watch   Watch
	poked   bool
	pokes   chan struct{} // one slot: a Poke not yet answered by a refresh

	view atomic.Pointer[View]

	mu          sync.Mutex    // guards changes, version, lastErr and refreshes
	recheck     chan struct{} // one slot: one Recheck at a time; guards lastRecheck
	lastRecheck time.Time     // when the last Recheck refresh started
	changes     chan struct{}
	// version changes with every change Changes reports. It starts at a
	// random value, so a member's watch tells a restarted host's views
	// from the ones it saw before (0 stands for none).
	version uint64
	lastErr error

	catalogs catalogCache
}

// New returns a Directory over l with an empty view; call Refresh or Run to
// fill it.
func New(l Ledger, opts Options) *Directory {
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Directory{
		ledger:  l,
		refresh: opts.Refresh,
		timeout: opts.Timeout,
		log:     opts.Logger,
		now:     opts.Now,
		watch:   opts.Watch,
		poked:   opts.Poked,
		pokes:   make(chan struct{}, 1),
		changes: make(chan struct{}),
		recheck: make(chan struct{}, 1),
		version: max(rand.Uint64(), 1),
	}
	d.view.Store(emptyView())
	d.catalogs.entries = map[catalogKey]accounting.Catalog{}
	return d
}

// Run refreshes the view now and then every refresh interval until ctx
// ends, or, with Options.Watch, whenever the ledger host's view changes.
// Failures are reported through LastError and the logger; they never stop
// the loop.
func (d *Directory) Run(ctx context.Context) {
	if d.watch != nil {
		d.follow(ctx)
		return
	}
	every := d.refresh
	if d.poked {
		every = IdleRefresh
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select { // this refresh answers every Poke so far
		case <-d.pokes:
		default:
		}
		last := d.now()
		rctx, cancel := context.WithTimeout(ctx, d.timeout)
		_ = d.Refresh(rctx) // recorded in LastError
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.pokes:
			// At most one refresh per Refresh: pokes in the meantime
			// wait for the same one.
			if err := backoff.Sleep(ctx, max(d.refresh-d.now().Sub(last), 0)); err != nil {
				return
			}
		}
	}
}

// Poke tells a Poked Directory's Run that the ledger changed: it refreshes
// at once, or when its last refresh is Refresh old. Without Poked it does
// nothing.
func (d *Directory) Poke() {
	if !d.poked {
		return
	}
	select {
	case d.pokes <- struct{}{}:
	default: // a refresh is already due
	}
}

// follow is Run with a Watch. It refreshes when the host's version differs
// from the one its last refresh followed, so a change reaches this node
// one watch answer after the host's own refresh saw it; an answer with the
// same version only confirms the view (its AsOf moves to when the watch was
// sent). A watch that fails (the host down, or a host that does not serve
// watches) costs a refresh, which records the failure for LastError, and
// Refresh's wait: while the host cannot be watched, Run polls as without
// Watch.
func (d *Directory) follow(ctx context.Context) {
	var seen uint64
	for {
		asked := d.now()
		wctx, cancel := context.WithTimeout(ctx, WatchWait+d.timeout)
		version, err := d.watch(wctx, seen)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && version == seen {
			d.confirm(asked)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, d.timeout)
		rerr := d.Refresh(rctx)
		cancel()
		if err == nil && rerr == nil {
			seen = version
			continue
		}
		if err := backoff.Sleep(ctx, d.refresh); err != nil {
			return
		}
	}
}

// confirm moves the view's AsOf to asOf: the host confirmed then that the
// view is current.
func (d *Directory) confirm(asOf time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.view.Load()
	if old.AsOf.IsZero() || !asOf.After(old.AsOf) {
		return
	}
	v := *old
	v.AsOf = asOf
	d.view.Store(&v)
}

// Refresh fetches the registry, accounts, current period and prices from
// the ledger and installs them as the new view. On failure the previous
// view stays in force and the error is returned and kept for LastError.
func (d *Directory) Refresh(ctx context.Context) error {
	v, err := d.fetch(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		if d.lastErr == nil {
			d.log.Warn("registry refresh failed; keeping the last view", "as_of", d.view.Load().AsOf, "err", err)
		}
		d.lastErr = err
		return err
	}
	if d.lastErr != nil {
		d.log.Info("registry refresh recovered")
		d.lastErr = nil
	}
	old := d.view.Load()
	if v.AsOf.Before(old.AsOf) {
		return nil // a concurrent refresh that started later already won
	}
	d.view.Store(v)
	if !slices.EqualFunc(old.conflicts, v.conflicts, sameConflict) {
		for _, c := range v.conflicts {
			d.log.Warn("registry: a credential is registered by more than one institution; neither is trusted with it",
				"credential", c.Kind, "institutions", c.MSPIDs)
		}
	}
	if old.AsOf.IsZero() || !old.sameAs(v) {
		close(d.changes)
		d.changes = make(chan struct{})
		d.version = max(d.version+1, 1) // 0 stands for none
	}
	if v.Period.Number > 1 {
		// A requester may still finish the previous period's queries
		// during its grace window; older digests are no longer needed.
		d.catalogs.evictBefore(v.Period.Number - 1)
	}
	return nil
}

func (d *Directory) fetch(ctx context.Context) (*View, error) {
	asOf := d.now()
	insts, err := d.ledger.Institutions(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: read institutions: %w", err)
	}
	accounts, err := d.ledger.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: read accounts: %w", err)
	}
	var period accounting.Period
	var prices accounting.PriceList
	switch p, err := d.ledger.Period(ctx, 0); {
	case err == nil:
		period, prices = *p, p.PriceList
	case errors.Is(err, accounting.ErrNotFound): // no period opened yet
		l, err := d.ledger.Prices(ctx)
		if err != nil {
			return nil, fmt.Errorf("registry: read prices: %w", err)
		}
		prices = *l
	default:
		return nil, fmt.Errorf("registry: read current period: %w", err)
	}
	return newView(insts, accounts, period, prices, asOf), nil
}

// View returns the current snapshot; it is never nil (empty before the
// first successful refresh).
func (d *Directory) View() *View { return d.view.Load() }

// Changes returns a channel that is closed the next time a refresh installs
// a view that differs from the current one (in any registry record,
// account, the period's number or state, or prices; not merely AsOf), and
// on the first successful refresh, so a node can wait for its first view.
// Call Changes again after it fires to wait for the next change.
func (d *Directory) Changes() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changes
}

// Version returns a number that changes whenever Changes fires; it says
// nothing else (not an order across restarts).
func (d *Directory) Version() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version
}

// WaitChange returns the view's Version once it differs from seen: at
// once if it already does, else when the view changes, WatchWait has
// passed or ctx ends, whichever comes first (then it may still be seen).
// The ledger host answers its members' watches with it
// (ledgerrelay.NewWatcher).
func (d *Directory) WaitChange(ctx context.Context, seen uint64) uint64 {
	t := time.NewTimer(WatchWait)
	defer t.Stop()
	for {
		d.mu.Lock()
		version, changed := d.version, d.changes
		d.mu.Unlock()
		if version != seen {
			return version
		}
		select {
		case <-changed:
		case <-t.C:
			return version
		case <-ctx.Done():
			return version
		}
	}
}

// LastError returns why the last refresh failed, or nil if it succeeded
// (or none has run). While it is non-nil the view is stale: View().AsOf
// says since when.
func (d *Directory) LastError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastErr
}

// RecheckAge is the least time between two refreshes Recheck makes: it
// bounds the ledger reads that peers presenting unknown keys can cause to
// one per RecheckAge, however many there are.
const RecheckAge = time.Second

// Recheck returns a view refreshed after it was called (or the view in
// force if the refresh failed or ctx ended first). Call it when a peer
// presents a certificate or signature the view does not know: a key
// rotation registered since the last refresh explains that, and waiting
// for the next periodic refresh would refuse the peer in the meantime.
//
// Callers share refreshes: one that started after a caller asked answers
// it too. A refresh starts at most once per RecheckAge; a caller that
// comes sooner waits for the next one rather than getting a view that may
// predate the rotation (a wait of at most RecheckAge, bounded by ctx).
func (d *Directory) Recheck(ctx context.Context) *View {
	asked := d.now()
	select {
	case d.recheck <- struct{}{}:
	case <-ctx.Done():
		return d.View()
	}
	defer func() { <-d.recheck }()
	if !d.lastRecheck.Before(asked) {
		return d.View() // refreshed since the question
	}
	if wait := RecheckAge - d.now().Sub(d.lastRecheck); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return d.View()
		}
	}
	d.lastRecheck = d.now()
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_ = d.Refresh(ctx) // recorded in LastError; the old view stays in force
	return d.View()
}

// authorizeTimeout bounds the ledger read Authorize may make during a
// handshake.
const authorizeTimeout = 3 * time.Second

// Authorize implements peer.Authorizer: it returns the MSP id of the active
// institution whose registered TLS certificate fingerprint is fp. A
// fingerprint the view does not know or holds ambiguous, or an institution
// it holds inactive, is looked up again through Recheck (a certificate
// rotated or an institution reactivated since the last refresh). A
// fingerprint more than one institution registered authenticates neither
// (ErrAmbiguous). Errors name only a prefix of the (public) fingerprint.
func (d *Directory) Authorize(fp [32]byte) (string, error) {
	inst, err := d.View().byFingerprint(fp)
	if err != nil || inst.Status != accounting.StatusActive {
		ctx, cancel := context.WithTimeout(context.Background(), authorizeTimeout)
		inst, err = d.Recheck(ctx).byFingerprint(fp)
		cancel()
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s…", err, hex.EncodeToString(fp[:6]))
	}
	if inst.Status != accounting.StatusActive {
		return "", fmt.Errorf("%w: %s is %s", ErrInactive, inst.MSPID, inst.Status)
	}
	return inst.MSPID, nil
}
