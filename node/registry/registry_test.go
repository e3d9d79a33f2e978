package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

const (
	regulatorMSP = "RegulatorMSP"
	bank1MSP     = "Bank1MSP"
	bank2MSP     = "Bank2MSP"
	bank3MSP     = "Bank3MSP"
	category     = "phone-black"
)

// network is a real embedded ledger with three banks: Bank1 and Bank2
// provide category (Bank2 without an endpoint), Bank3 only requests.
type network struct {
	store *accounting.EmbeddedStore
	reg   accounting.Ledger
	banks map[string]accounting.Ledger
}

func fingerprint(msp string) [32]byte { return sha256.Sum256([]byte("certificate of " + msp)) }

func newNetwork(t testing.TB) *network {
	t.Helper()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{Regulator: regulatorMSP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n := &network{store: store, banks: map[string]accounting.Ledger{}}
	n.reg = n.as(t, regulatorMSP)
	ctx := context.Background()
	roles := map[string][]accounting.Role{
		bank1MSP: {accounting.RoleProvider, accounting.RoleRequester},
		bank2MSP: {accounting.RoleProvider, accounting.RoleRequester},
		bank3MSP: {accounting.RoleRequester},
	}
	for _, msp := range []string{bank1MSP, bank2MSP, bank3MSP} {
		must(t, n.reg.AddInstitution(ctx, msp, "Institution "+msp, roles[msp]))
		must(t, n.reg.SetLimit(ctx, msp, 1000))
		b := n.as(t, msp)
		n.banks[msp] = b
		fp := fingerprint(msp)
		p := accounting.Profile{TLSFingerprint: fp[:]}
		if msp != bank2MSP {
			p.Endpoint = "127.0.0.1:7" + msp[4:5] + "00"
		}
		must(t, b.UpdateProfile(ctx, p))
	}
	must(t, n.banks[bank1MSP].SetOPRFKey(ctx, category, bytes.Repeat([]byte{1}, 32)))
	must(t, n.banks[bank2MSP].SetOPRFKey(ctx, category, bytes.Repeat([]byte{2}, 32)))
	must(t, n.reg.SetPrice(ctx, category, 3))
	return n
}

func (n *network) as(t testing.TB, msp string) accounting.Ledger {
	t.Helper()
	l, err := n.store.As(msp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func refresh(t *testing.T, d *registry.Directory) *registry.View {
	t.Helper()
	must(t, d.Refresh(context.Background()))
	return d.View()
}

// fired reports whether ch is closed, without waiting.
func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func mspIDs(insts []accounting.Institution) []string {
	var out []string
	for _, i := range insts {
		out = append(out, i.MSPID)
	}
	return out
}

func TestEmptyViewBeforeRefresh(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.banks[bank3MSP], registry.Options{})
	v := d.View()
	if v == nil || len(v.Institutions()) != 0 || v.Period.Number != 0 || !v.AsOf.IsZero() || v.Prices == nil {
		t.Fatalf("view before refresh: %+v", v)
	}
	if err := d.LastError(); err != nil {
		t.Fatalf("LastError before refresh: %v", err)
	}
	// A peer arriving before the first refresh is looked up.
	if msp, err := d.Authorize(fingerprint(bank1MSP)); err != nil || msp != bank1MSP {
		t.Fatalf("Authorize before refresh = %q, %v", msp, err)
	}
}

// TestAuthorizeRechecksUnknownCertificates: a certificate rotated since the
// last refresh is admitted at once, by one ledger read; callers that asked
// no later than the last recheck started share it, so unknown certificates
// cause at most one read per RecheckAge. The clock is frozen between steps:
// every caller "asks" at the instant of the last recheck.
func TestAuthorizeRechecksUnknownCertificates(t *testing.T) {
	n := newNetwork(t)
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	d := registry.New(n.banks[bank3MSP], registry.Options{Now: clock})
	refresh(t, d)

	rotated := fingerprint("rotated certificate of " + bank1MSP)
	must(t, n.banks[bank1MSP].UpdateProfile(context.Background(), accounting.Profile{TLSFingerprint: rotated[:]}))
	if msp, err := d.Authorize(rotated); err != nil || msp != bank1MSP {
		t.Fatalf("Authorize of the rotated certificate = %q, %v", msp, err)
	}
	// Asked no later than that refresh: it answers them, no new read.
	rotatedAgain := fingerprint("second rotation of " + bank1MSP)
	must(t, n.banks[bank1MSP].UpdateProfile(context.Background(), accounting.Profile{TLSFingerprint: rotatedAgain[:]}))
	for range 10 {
		if _, err := d.Authorize(rotatedAgain); !errors.Is(err, registry.ErrUnknownPeer) {
			t.Fatalf("Authorize within RecheckAge: %v, want ErrUnknownPeer", err)
		}
	}
	advance(registry.RecheckAge)
	if msp, err := d.Authorize(rotatedAgain); err != nil || msp != bank1MSP {
		t.Fatalf("Authorize after RecheckAge = %q, %v", msp, err)
	}
	// The replaced certificate is cut off once the view has the new one.
	if _, err := d.Authorize(rotated); !errors.Is(err, registry.ErrUnknownPeer) {
		t.Fatalf("Authorize of the replaced certificate: %v", err)
	}
}

func TestViewContents(t *testing.T) {
	n := newNetwork(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	d := registry.New(n.banks[bank3MSP], registry.Options{Now: func() time.Time { return now }})

	t.Run("BeforeFirstPeriod", func(t *testing.T) {
		v := refresh(t, d)
		if v.Period.Number != 0 || v.Prices[category] != 3 || !v.AsOf.Equal(now) {
			t.Fatalf("period %+v, prices %v, as of %v", v.Period, v.Prices, v.AsOf)
		}
	})

	must(t, n.reg.SetPrice(context.Background(), category, 4)) // applies to the next period only
	_, err := n.reg.Rollover(context.Background())
	must(t, err)
	must(t, n.reg.SetPrice(context.Background(), category, 9))
	v := refresh(t, d)

	t.Run("Period", func(t *testing.T) {
		if v.Period.Number != 1 || v.Period.State != accounting.PeriodOpen || v.Prices[category] != 4 {
			t.Fatalf("period %+v, prices %v", v.Period, v.Prices)
		}
	})
	t.Run("Institutions", func(t *testing.T) {
		got := mspIDs(v.Institutions())
		want := []string{bank1MSP, bank2MSP, bank3MSP}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("institutions %v, want %v (sorted)", got, want)
		}
		inst, ok := v.Institution(bank1MSP)
		fp := fingerprint(bank1MSP)
		if !ok || inst.Endpoint != "127.0.0.1:7100" || !bytes.Equal(inst.TLSFingerprint, fp[:]) ||
			inst.Status != accounting.StatusActive || !inst.HasRole(accounting.RoleProvider) {
			t.Fatalf("Bank1: %+v", inst)
		}
		if _, ok := v.Institution("NoSuchMSP"); ok {
			t.Fatal("found an unregistered institution")
		}
	})
	t.Run("Accounts", func(t *testing.T) {
		a, ok := v.Account(bank2MSP)
		if !ok || a.Limit != 1000 || a.Balance != 0 || a.Flagged {
			t.Fatalf("Bank2 account %+v, %v", a, ok)
		}
	})
	t.Run("Providers", func(t *testing.T) {
		// Bank2 has no endpoint, Bank3 is no provider.
		if got := mspIDs(v.Providers(category)); len(got) != 1 || got[0] != bank1MSP {
			t.Fatalf("providers %v", got)
		}
		if got := v.Providers("other-category"); len(got) != 0 {
			t.Fatalf("providers of an unprovided category: %v", mspIDs(got))
		}
	})
	t.Run("ReturnedRecordsAreCopies", func(t *testing.T) {
		inst, _ := v.Institution(bank1MSP)
		inst.OPRFKeys[category][0] ^= 0xff
		inst.TLSFingerprint[0] ^= 0xff
		again, _ := v.Institution(bank1MSP)
		if again.OPRFKeys[category][0] != 1 {
			t.Fatal("changing a returned record changed the view")
		}
		if _, err := d.Authorize(fingerprint(bank1MSP)); err != nil {
			t.Fatalf("Authorize after a caller changed its copy: %v", err)
		}
	})
}

func TestChangesFireOnFirstRefresh(t *testing.T) {
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	defer store.Close()
	l, err := store.As(accounting.DefaultRegulator)
	must(t, err)
	d := registry.New(l, registry.Options{})
	changes := d.Changes()
	refresh(t, d) // an empty ledger: the view's contents do not change
	if !fired(changes) {
		t.Fatal("the first successful refresh did not fire Changes")
	}
	changes = d.Changes()
	refresh(t, d)
	if fired(changes) {
		t.Fatal("a second refresh of an unchanged ledger fired Changes")
	}
}

func TestAuthorize(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.banks[bank1MSP], registry.Options{})
	must(t, n.reg.SuspendInstitution(context.Background(), bank3MSP))
	refresh(t, d)
	for _, tc := range []struct {
		name string
		fp   [32]byte
		msp  string
		err  error
	}{
		{"Active", fingerprint(bank2MSP), bank2MSP, nil},
		{"Suspended", fingerprint(bank3MSP), "", registry.ErrInactive},
		{"Unknown", fingerprint("someone else"), "", registry.ErrUnknownPeer},
		{"Zero", [32]byte{}, "", registry.ErrUnknownPeer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msp, err := d.Authorize(tc.fp)
			if msp != tc.msp || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Authorize = %q, %v; want %q, %v", msp, err, tc.msp, tc.err)
			}
		})
	}
}

func TestSuspensionReflectedAfterRefresh(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.banks[bank3MSP], registry.Options{})
	refresh(t, d)
	changes := d.Changes()

	t.Run("NoChangeNoSignal", func(t *testing.T) {
		refresh(t, d)
		if fired(changes) {
			t.Fatal("Changes fired although nothing changed")
		}
	})

	must(t, n.reg.SuspendInstitution(context.Background(), bank1MSP))
	before := d.View()
	if _, err := d.Authorize(fingerprint(bank1MSP)); err != nil {
		t.Fatalf("suspension took effect before the refresh: %v", err)
	}
	v := refresh(t, d)

	if !fired(changes) {
		t.Fatal("Changes did not fire on a suspension")
	}
	if fired(d.Changes()) {
		t.Fatal("the replacement Changes channel is already closed")
	}
	if _, err := d.Authorize(fingerprint(bank1MSP)); !errors.Is(err, registry.ErrInactive) {
		t.Fatalf("Authorize of a suspended institution: %v", err)
	}
	if got := v.Providers(category); len(got) != 0 {
		t.Fatalf("suspended provider still listed: %v", mspIDs(got))
	}
	if inst, _ := before.Institution(bank1MSP); inst.Status != accounting.StatusActive {
		t.Fatal("an earlier view changed after a refresh")
	}
}

func TestChangesFireOn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*testing.T, *network)
	}{
		{"Rollover", func(t *testing.T, n *network) { _, err := n.reg.Rollover(context.Background()); must(t, err) }},
		{"Price", func(t *testing.T, n *network) { must(t, n.reg.SetPrice(context.Background(), category, 7)) }},
		{"Limit", func(t *testing.T, n *network) { must(t, n.reg.SetLimit(context.Background(), bank3MSP, 5)) }},
		{"Endpoint", func(t *testing.T, n *network) {
			must(t, n.banks[bank2MSP].UpdateProfile(context.Background(), accounting.Profile{Endpoint: "127.0.0.1:7999"}))
		}},
		{"OPRFKey", func(t *testing.T, n *network) {
			must(t, n.banks[bank1MSP].SetOPRFKey(context.Background(), category, bytes.Repeat([]byte{9}, 32)))
		}},
		{"Roles", func(t *testing.T, n *network) {
			must(t, n.reg.SetRoles(context.Background(), bank3MSP, []accounting.Role{accounting.RoleRequester, accounting.RoleAuditor}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t)
			d := registry.New(n.banks[bank3MSP], registry.Options{})
			refresh(t, d)
			changes := d.Changes()
			tc.change(t, n)
			refresh(t, d)
			if !fired(changes) {
				t.Fatal("Changes did not fire")
			}
		})
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

func TestLedgerUnreachableKeepsView(t *testing.T) {
	n := newNetwork(t)
	logs := &countingHandler{counts: map[slog.Level]int{}}
	d := registry.New(n.banks[bank3MSP], registry.Options{Logger: slog.New(logs)})
	good := refresh(t, d)
	changes := d.Changes()

	must(t, n.store.Close())
	for range 3 {
		if err := d.Refresh(context.Background()); !errors.Is(err, accounting.ErrClosed) {
			t.Fatalf("Refresh of a closed ledger: %v", err)
		}
	}
	if d.View() != good {
		t.Fatal("a failed refresh replaced the view")
	}
	if !errors.Is(d.LastError(), accounting.ErrClosed) {
		t.Fatalf("LastError = %v", d.LastError())
	}
	if fired(changes) {
		t.Fatal("Changes fired on a failed refresh")
	}
	if msp, err := d.Authorize(fingerprint(bank1MSP)); err != nil || msp != bank1MSP {
		t.Fatalf("Authorize from the stale view: %q, %v", msp, err)
	}
	if got := logs.count(slog.LevelWarn); got != 1 {
		t.Fatalf("%d warnings for one outage, want 1", got)
	}
}

func TestRecoveryClearsError(t *testing.T) {
	n := newNetwork(t)
	flaky := &flakyLedger{Ledger: n.banks[bank3MSP]}
	logs := &countingHandler{counts: map[slog.Level]int{}}
	d := registry.New(flaky, registry.Options{Logger: slog.New(logs)})
	flaky.fail(true)
	if err := d.Refresh(context.Background()); !errors.Is(err, errUnreachable) {
		t.Fatalf("Refresh: %v", err)
	}
	flaky.fail(false)
	refresh(t, d)
	if d.LastError() != nil || len(d.View().Institutions()) != 3 {
		t.Fatalf("after recovery: err %v, %d institutions", d.LastError(), len(d.View().Institutions()))
	}
	if logs.count(slog.LevelWarn) != 1 || logs.count(slog.LevelInfo) != 1 {
		t.Fatalf("logs: %v", logs.counts)
	}
}

var errUnreachable = errors.New("test: ledger unreachable")

// flakyLedger fails every call while failing is set, and counts catalog
// reads.
type flakyLedger struct {
	accounting.Ledger
	mu           sync.Mutex
	failing      bool
	catalogReads int
}

func (f *flakyLedger) fail(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = on
}

func (f *flakyLedger) check() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		return errUnreachable
	}
	return nil
}

func (f *flakyLedger) Institutions(ctx context.Context) ([]accounting.Institution, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Ledger.Institutions(ctx)
}

func (f *flakyLedger) Catalog(ctx context.Context, msp, category string, period uint64) (*accounting.Catalog, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.catalogReads++
	f.mu.Unlock()
	return f.Ledger.Catalog(ctx, msp, category, period)
}

func TestCatalog(t *testing.T) {
	n := newNetwork(t)
	ctx := context.Background()
	_, err := n.reg.Rollover(ctx)
	must(t, err)
	flaky := &flakyLedger{Ledger: n.banks[bank3MSP]}
	d := registry.New(flaky, registry.Options{})
	refresh(t, d)

	if _, err := d.Catalog(ctx, bank1MSP, category, 1); !errors.Is(err, accounting.ErrNotFound) {
		t.Fatalf("unpublished catalog: %v", err)
	}
	digest := sha256.Sum256([]byte("catalog"))
	// The contract publishes only the key registered for the category.
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	pub, err := key.Public().MarshalBinary()
	must(t, err)
	must(t, n.banks[bank1MSP].SetOPRFKey(ctx, category, pub))
	must(t, n.banks[bank1MSP].PublishCatalog(ctx, accounting.Catalog{Category: category, Period: 1, Digest: digest[:], OPRFKey: pub}))

	t.Run("ReadThrough", func(t *testing.T) {
		cat, err := d.Catalog(ctx, bank1MSP, category, 1)
		must(t, err)
		if cat.MSPID != bank1MSP || cat.Category != category || cat.Period != 1 || !bytes.Equal(cat.Digest, digest[:]) {
			t.Fatalf("catalog %+v", cat)
		}
		cat.Digest[0] ^= 0xff // the caller's copy
	})
	t.Run("CachedWhileLedgerDown", func(t *testing.T) {
		flaky.fail(true)
		defer flaky.fail(false)
		reads := flaky.catalogReads
		cat, err := d.Catalog(ctx, bank1MSP, category, 1)
		must(t, err)
		if !bytes.Equal(cat.Digest, digest[:]) || flaky.catalogReads != reads {
			t.Fatalf("cached catalog %+v after %d ledger reads", cat, flaky.catalogReads-reads)
		}
		if _, err := d.Catalog(ctx, bank1MSP, category, 2); !errors.Is(err, errUnreachable) {
			t.Fatalf("uncached catalog with the ledger down: %v", err)
		}
	})
	t.Run("EvictedAfterTwoPeriods", func(t *testing.T) {
		for range 2 {
			next, err := n.reg.Rollover(ctx)
			must(t, err)
			must(t, n.reg.ClosePeriod(ctx, next.Number-1))
		}
		refresh(t, d)
		reads := flaky.catalogReads
		_, err := d.Catalog(ctx, bank1MSP, category, 1)
		must(t, err)
		if flaky.catalogReads != reads+1 {
			t.Fatal("a digest of a period two periods back was served from the cache")
		}
	})
}

func TestRun(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.banks[bank3MSP], registry.Options{Refresh: time.Millisecond})
	changes := d.Changes()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	<-changes // the first refresh fills the view
	if len(d.View().Institutions()) != 3 {
		t.Fatalf("view after the first refresh: %v", mspIDs(d.View().Institutions()))
	}
	changes = d.Changes()
	must(t, n.reg.SuspendInstitution(context.Background(), bank2MSP))
	<-changes
	if inst, _ := d.View().Institution(bank2MSP); inst.Status != accounting.StatusSuspended {
		t.Fatalf("Run did not pick up the suspension: %+v", inst)
	}
	cancel()
	<-done
}

// TestRecheckWaitsForAFreshView: a caller that comes within RecheckAge of
// the last recheck gets a view refreshed after it asked (it waits), never
// the earlier one, so a key registered in between is found.
func TestRecheckWaitsForAFreshView(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.banks[bank3MSP], registry.Options{})
	refresh(t, d)
	d.Recheck(context.Background())
	rotated := fingerprint("rotated certificate of " + bank2MSP)
	must(t, n.banks[bank2MSP].UpdateProfile(context.Background(), accounting.Profile{TLSFingerprint: rotated[:]}))
	if msp, err := d.Authorize(rotated); err != nil || msp != bank2MSP {
		t.Fatalf("Authorize right after a recheck = %q, %v", msp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v := d.Recheck(ctx); v != d.View() {
		t.Fatal("a cancelled Recheck did not return the view in force")
	}
}
