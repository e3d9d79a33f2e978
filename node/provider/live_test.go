package provider

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// mutableList is a CSV list source whose contents a test changes between
// reads, as an operator's export does.
type mutableList struct {
	mu   sync.Mutex
	text string
}

func (m *mutableList) set(text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.text = text
}

func (m *mutableList) open() (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return io.NopCloser(strings.NewReader(m.text)), nil
}

// newLiveFixture is a provider serving the black list as catalog and live
// from a list the test changes.
func newLiveFixture(t testing.TB, mode ServeMode) (*fixture, *mutableList) {
	t.Helper()
	return newLiveFixturePriced(t, mode, true)
}

// newLiveFixturePriced is newLiveFixture with or without a live price.
func newLiveFixturePriced(t testing.TB, mode ServeMode, livePriced bool) (*fixture, *mutableList) {
	t.Helper()
	list := &mutableList{text: listCSV}
	src, err := lists.NewDelimited(list.open,
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}})
	must(t, err)
	f := newPricedFixture(t, func(c *Config) {
		c.Serve = map[string]ServeMode{category: mode}
		c.Sources[0].Source = src
		c.LiveBatch = 16
	}, livePriced)
	return f, list
}

// liveLookup looks phones up in the provider's live database of period
// with hepsi, as a requester holding their PRF outputs would.
func (f *fixture) liveLookup(period uint64, phones ...string) []hepsi.Result {
	f.t.Helper()
	db := f.p.liveDatabase(category, period, f.key.Public().KeyID())
	if db == nil {
		f.t.Fatalf("no live database for period %d", period)
	}
	ev, err := oprf.NewEvaluator(f.key, catalogpsi.Info(category, period))
	must(f.t, err)
	items := make([][]byte, len(phones))
	for i, ph := range phones {
		id, err := ident.Normalize("phone", ph)
		must(f.t, err)
		out, err := ev.Evaluate(id.AppendTo(nil))
		must(f.t, err)
		items[i] = out[:]
	}
	r, err := hepsi.NewRequester(db.Params())
	must(f.t, err)
	q, st, err := r.Query(nil, items)
	must(f.t, err)
	a, err := db.Answer(nil, q)
	must(f.t, err)
	res, err := st.Results(a)
	must(f.t, err)
	return res
}

// TestLiveFollowsSource: an entry added to the list source is found by a
// live query right after Refresh, and gone after it is removed, with the
// same database updated in place (never rebuilt) and without a new
// catalog for the period.
func TestLiveFollowsSource(t *testing.T) {
	f, list := newLiveFixture(t, ServeCatalog|ServeLive)
	f.maintain()
	const newcomer = "+8613800138999"
	before := f.p.live.m[category]
	if before == nil {
		t.Fatal("maintain built no live database")
	}
	res := f.liveLookup(1, "+8613800138000", newcomer, "+8613800138002")
	if !res[0].Found || res[1].Found || res[2].Found {
		t.Fatalf("initial list: found %v %v %v, want listed, unlisted, other code", res[0].Found, res[1].Found, res[2].Found)
	}
	var lb catalog.Label
	must(t, lb.UnmarshalBinary(res[0].Label))
	if lb.Category != 1 || lb.Reason != 7 {
		t.Fatalf("label %+v, want category 1 reason 7", lb)
	}

	list.set(listCSV + newcomer + ",1,9,2024-04-01\n")
	_, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	res = f.liveLookup(1, newcomer, "+8613800138000")
	if !res[0].Found || !res[1].Found {
		t.Fatalf("after adding: found %v %v, want both", res[0].Found, res[1].Found)
	}
	must(t, lb.UnmarshalBinary(res[0].Label))
	if lb.Reason != 9 {
		t.Fatalf("new entry's label %+v, want reason 9", lb)
	}

	list.set(strings.Replace(listCSV, "+8613800138000,1,7,2024-03-01\n", "", 1))
	_, err = f.p.Refresh(f.ctx, nil)
	must(t, err)
	res = f.liveLookup(1, newcomer, "+8613800138000", "+8613800138001")
	if res[0].Found || res[1].Found || !res[2].Found {
		t.Fatalf("after removing: found %v %v %v, want gone, gone, kept", res[0].Found, res[1].Found, res[2].Found)
	}
	if after := f.p.live.m[category]; after.db != before.db {
		t.Fatal("a list change rebuilt the live database instead of updating it")
	}
	if got := f.p.live.m[category].db.Len(); got != 1 {
		t.Fatalf("live database holds %d entries, want 1", got)
	}
}

// TestLiveOnlyPublishesNoCatalog: a category served live only has a live
// database and no catalog on the ledger.
func TestLiveOnlyPublishesNoCatalog(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	f.maintain()
	if res := f.liveLookup(1, "+8613800138001"); !res[0].Found {
		t.Fatal("listed entry not found live")
	}
	if _, err := f.requester.Catalog(f.ctx, providerMSP, category, 1); err == nil {
		t.Fatal("a live-only category published a catalog")
	}
}

// TestLiveRebuildsOnNewPeriod: the PRF outputs change with the period, so
// the next period's database is a new one holding the same list.
func TestLiveRebuildsOnNewPeriod(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	f.maintain()
	before := f.p.live.m[category].db
	_, err := f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	f.maintain()
	if f.p.liveDatabase(category, 1, f.key.Public().KeyID()) != nil {
		t.Fatal("period 1's database still answers in period 2")
	}
	if f.p.live.m[category].db == before {
		t.Fatal("period 2 reuses period 1's database")
	}
	if res := f.liveLookup(2, "+8613800138001"); !res[0].Found {
		t.Fatal("listed entry not found in period 2")
	}
}

// TestLiveNotReadySaysBuilding: a live request for a category without a
// database for the period is refused UNAVAILABLE, saying "building" while
// a build runs and "not ready" otherwise.
func TestLiveNotReadySaysBuilding(t *testing.T) {
	f, _ := newLiveFixture(t, ServeLive)
	ask := func() *riskmeshv1.PeerError {
		t.Helper()
		resp := f.p.Handle(f.ctx, peer.Identity{MSPID: requesterMSP}, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{
			LiveInfo: &riskmeshv1.LiveInfoRequest{Provider: providerMSP, Category: category, Period: 1},
		}})
		if resp.GetError() == nil {
			t.Fatalf("live info answered without a database: %v", resp)
		}
		return resp.GetError()
	}
	for _, building := range []bool{true, false} {
		want := "live database of black not ready"
		if building {
			want = "live database of black building"
			if !f.p.live.startBuild(category) {
				t.Fatal("no build running, yet startBuild refused")
			}
		}
		if e := ask(); e.Code != codeUnavailable || e.Message != want {
			t.Errorf("building %v: refused %v %q, want UNAVAILABLE %q", building, e.Code, e.Message, want)
		}
		f.p.live.endBuild(category)
	}
}

func TestConfigServe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve map[string]ServeMode
	}{
		{"unknown category", map[string]ServeMode{"grey": ServeLive}},
		{"no mode", map[string]ServeMode{category: 0}},
		{"unknown mode", map[string]ServeMode{category: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			cfg := f.p.cfg
			cfg.Serve = tc.serve
			if _, err := New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestLiveSyncReadsOnlyChangedLists: Run syncs the live databases after
// every registry change, here while billed queries flow. Without a list
// change such a sync reads nothing (at 10^6 entries a read and diff of the
// list costs several CPU-seconds), nor does a refresh that finds the same
// list; a build reads the list once, its catch-up not again; a Refresh
// that changes the source and an Import are read and found; a new period
// rebuilds.
func TestLiveSyncReadsOnlyChangedLists(t *testing.T) {
	f, list := liveFixture(t, importable)
	f.maintain()
	if got := f.p.live.reads.Load(); got != 1 {
		t.Fatalf("the first build read the list %d times, want once", got)
	}
	params := f.liveParams(f.handle, 1)
	for range 3 {
		s1 := f.livePOPRF(f.handle, 1, 0, "+8613800138001")
		if s1.refusal != nil {
			t.Fatalf("POPRF step refused: %v", s1.refusal)
		}
		req, st, qd := f.liveQueryFor(params, s1.hdr, s1.respDigest, s1.outputs)
		if res := f.liveResults(f.handle(req), params, st, qd); !res[0].Found {
			t.Fatal("listed entry not found live")
		}
		f.flush()
		f.refresh()
		f.maintain()
	}
	// A scheduled refresh that finds the same list changes nothing.
	_, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	if got := f.p.live.reads.Load(); got != 1 {
		t.Fatalf("syncs without a list change read the list %d times, want none", got-1)
	}

	list.set(listCSV + newcomer + ",1,9,2024-04-01\n")
	_, err = f.p.Refresh(f.ctx, nil)
	must(t, err)
	f.maintain()
	if got := f.p.live.reads.Load(); got != 2 {
		t.Fatalf("a changed source was read into the database %d times, want once", got-1)
	}
	if res := f.liveLookup(1, newcomer); !res[0].Found {
		t.Fatal("the refreshed source's new entry not found live")
	}

	const imported = "+8613800138009"
	f.importList(writeList(t, imported+",1,42,2024-04-01"), false, false)
	if got := f.p.live.reads.Load(); got != 3 {
		t.Fatalf("an import was read into the database %d times, want once", got-2)
	}
	if res := f.liveLookup(1, imported); !res[0].Found {
		t.Fatal("the imported entry not found live")
	}

	before := f.p.live.m[category].db
	f.nextPeriod()
	if f.p.live.m[category].db == before {
		t.Fatal("period 2 reuses period 1's database")
	}
	if res := f.liveLookup(2, newcomer, imported); !res[0].Found || !res[1].Found {
		t.Fatalf("period 2 found %v %v, want both", res[0].Found, res[1].Found)
	}
	reads := f.p.live.reads.Load()
	f.maintain()
	if got := f.p.live.reads.Load(); got != reads {
		t.Fatalf("a sync after period 2's build read the list %d times, want none", got-reads)
	}
}

// A list change that lands after a build read the list, while the build
// runs (its own sync finds the build running and leaves the change to it),
// is applied by the build's catch-up: the version the build read is
// behind.
func TestLiveChangeDuringBuildCaught(t *testing.T) {
	f, list := liveFixture(t, nil)
	f.maintain()
	version := f.p.live.m[category].listVersion
	// The change a Refresh makes, read from the source without the sync
	// that follows it: as if the sync had found a build running.
	list.set(listCSV + newcomer + ",1,9,2024-04-01\n")
	if _, readErr, err := f.p.readSource(f.ctx, f.p.cfg.Sources[0]); err != nil || readErr != nil {
		t.Fatalf("read the source: %v %v", err, readErr)
	}
	if f.p.live.listVersion(category) == version {
		t.Fatal("replacing the source's last good read left its list version")
	}
	if res := f.liveLookup(1, newcomer); res[0].Found {
		t.Fatal("the newcomer was found before any sync")
	}
	if _, _, err := f.p.syncLive(f.ctx, category); err != nil {
		t.Fatal(err)
	}
	if res := f.liveLookup(1, newcomer); !res[0].Found {
		t.Fatal("the change behind the database's list version was not applied")
	}
}

// Imports committing while the live database is built (run with -race)
// are all in it once both end: each import's own sync either applies it or
// finds the build running, and then the build's catch-up reads it.
func TestLiveImportsDuringBuild(t *testing.T) {
	f, _ := liveFixture(t, importable)
	phones := []string{"+8613800138010", "+8613800138011", "+8613800138012"}
	paths := make([]string, len(phones))
	for i, ph := range phones {
		paths[i] = writeList(t, fmt.Sprintf("%s,1,%d,2024-05-01", ph, i+1))
	}
	imported := f.importAll(paths)
	failed := f.p.maintain(f.ctx)
	must(t, <-imported)
	if failed {
		t.Fatalf("build failed: %v", f.p.CatalogStatus(category))
	}
	res := f.liveLookup(1, phones...)
	for i := range phones {
		if !res[i].Found {
			t.Fatalf("import %d not found live after the build and the imports ended", i)
		}
	}
}
