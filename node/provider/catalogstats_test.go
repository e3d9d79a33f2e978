package provider

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// clock sets the node's clock to *now.
func clock(now *time.Time) func(*Config) {
	return func(c *Config) { c.Now = func() time.Time { return *now } }
}

// declared reads what the ledger holds as declared with the provider's
// catalog of period.
func (f *fixture) declared(period uint64) *accounting.CatalogStats {
	f.t.Helper()
	c, err := f.requester.Catalog(f.ctx, providerMSP, category, period)
	must(f.t, err)
	return c.Stats
}

func wantStats(t *testing.T, what string, got *accounting.CatalogStats, want accounting.CatalogStats) {
	t.Helper()
	if got == nil || *got != want {
		t.Fatalf("%s: declared %+v, want %+v", what, got, want)
	}
}

// Over two periods with a list change in between, the provider declares
// its catalogs' entries, the additions and removals since the previous
// catalog and their mean age; the ledger's quality scores show them. A
// restart after publication, with another day's clock, a changed list and
// the catalog files gone or not, neither fails nor publishes again.
func TestDeclaredCatalogStats(t *testing.T) {
	now := time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC)
	f, write := exportFixtureWith(t, clock(&now),
		"+8613800138000,1,7,2024-03-01", // 31 days old on 2024-04-01
		"+8613800138001,1,8,2024-03-02", // 30 days
		"+8613800138002,2,9,2024-03-03", // another list (code 2): not in the catalog
	)
	f.maintain()
	wantStats(t, "period 1", f.declared(1), accounting.CatalogStats{Entries: 2, Added: 2, Removed: 0, MeanAgeDays: 30})

	// One entry removed, two added, one kept.
	period2 := csvRows(
		"+8613800138001,1,8,2024-03-02", // 60 days old on 2024-05-01
		"+8613800138003,1,7,2024-04-10", // 21 days
		"+8613800138004,1,7,2024-04-10", // 21 days
		"+8613800138005,1,7,2024-06-01", // listed in the future: age 0
	)
	write(period2)
	now = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	f.nextPeriod()
	want2 := accounting.CatalogStats{Entries: 4, Added: 3, Removed: 1, MeanAgeDays: (60 + 21 + 21 + 0) / 4}
	wantStats(t, "period 2", f.declared(2), want2)

	// The quality scores of period 2 show the declaration beside the
	// requester's report on the one look-up it made.
	if hit, _ := f.lookup(2, "+8613800138003"); !hit {
		t.Fatal("a listed number missed in period 2")
	}
	f.flush()
	key := accounting.EntryKey{Period: 2, Requester: requesterMSP, Responder: providerMSP, Sequence: f.seq}
	_, err := f.requester.ReportOutcomes(f.ctx, []accounting.OutcomeReport{{Key: key, Confirmed: 1}})
	must(t, err)
	scores, err := f.requester.Scores(f.ctx, accounting.QualityQuery{Period: 2, Provider: providerMSP, Category: category})
	must(t, err)
	if len(scores) != 1 {
		t.Fatalf("%d scores, want 1", len(scores))
	}
	wantStats(t, "period 2 scores", scores[0].Declared, want2)

	restart := func(what string) {
		t.Helper()
		var err error
		f.p, err = New(f.p.cfg)
		must(t, err)
		f.refresh()
		f.maintain()
		wantStats(t, what, f.declared(2), want2)
		if hit, _ := f.lookup(2, "+8613800138004"); !hit {
			t.Fatalf("%s: a listed number missed in period 2", what)
		}
	}
	// A later day (other ages) and a changed list: the published file is
	// served as it is.
	now = now.AddDate(0, 0, 10)
	write(csvRows("+8613800138009,1,7,2024-04-10"))
	restart("restart with the catalog file")
	if hit, _ := f.lookup(2, "+8613800138009"); hit {
		t.Fatal("a number listed after publication found in the published catalog")
	}
	// The file lost, the list as published: the rebuild reproduces the
	// published digest and is served without publishing other statistics.
	write(period2)
	must(t, os.Remove(f.p.catalogPath(category, 2)))
	restart("restart with the catalog file lost")

	// Period 3 compares with the stats file the rebuild wrote; period 1's
	// files are pruned with it.
	now = now.AddDate(0, 0, 20) // 2024-05-31
	f.flush()
	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	f.nextPeriod()
	wantStats(t, "period 3", f.declared(3), accounting.CatalogStats{Entries: 4, MeanAgeDays: (90 + 51 + 51 + 0) / 4})
	for _, p := range []string{f.p.catalogPath(category, 1), f.p.statsPath(category, 1)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s not pruned in period 3: %v", filepath.Base(p), err)
		}
	}
}

// A catalog file lost after publication whose lists changed since cannot
// be rebuilt as published: the build fails with ErrRebuiltDiffers instead
// of serving a catalog other than the one on the ledger.
func TestLostPublishedCatalogRebuiltDiffers(t *testing.T) {
	now := time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC)
	f, write := exportFixtureWith(t, clock(&now), "+8613800138000,1,7,2024-03-01")
	f.maintain()
	write(csvRows("+8613800138001,1,7,2024-03-01"))
	must(t, os.Remove(f.p.catalogPath(category, 1)))
	var err error
	f.p, err = New(f.p.cfg)
	must(t, err)
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("maintain served a rebuilt catalog other than the published one")
	}
	if st := f.p.CatalogStatus(category); len(st) != 1 || !strings.Contains(st[0].GetError(), ErrRebuiltDiffers.Error()) {
		t.Fatalf("status %v, want the rebuild refused", st)
	}
}

// A node that stopped between building and publishing publishes, after
// its restart, the statistics recorded when the catalog was built, not
// figures of the restart's day; a stats file that does not describe the
// catalog file makes it rebuild.
func TestUnpublishedCatalogDeclaresItsBuildStats(t *testing.T) {
	now := time.Date(2024, 4, 1, 9, 0, 0, 0, time.UTC)
	rows := []string{"+8613800138000,1,7,2024-03-01", "+8613800138001,1,7,2024-03-21"}
	f, _ := exportFixtureWith(t, clock(&now), rows...)
	sv, _, err := f.p.build(f.ctx, category, 1, f.p.catalogPath(category, 1), f.key)
	must(t, err)
	sv.close()
	now = now.AddDate(0, 0, 100)
	f.maintain()
	wantStats(t, "built on 2024-04-01", f.declared(1), accounting.CatalogStats{Entries: 2, Added: 2, MeanAgeDays: (31 + 11) / 2})

	// Another node's stats file in place of its own, as a stale file would
	// be: the node rebuilds rather than publish figures of another catalog.
	f2, _ := exportFixtureWith(t, clock(&now), rows...)
	sv, _, err = f2.p.build(f2.ctx, category, 1, f2.p.catalogPath(category, 1), f2.key)
	must(t, err)
	sv.close()
	other, err := os.ReadFile(f.p.statsPath(category, 1))
	must(t, err)
	must(t, os.WriteFile(f2.p.statsPath(category, 1), other, 0o600))
	now = now.AddDate(0, 0, 10)
	f2.maintain()
	wantStats(t, "rebuilt on the later day", f2.declared(1), accounting.CatalogStats{Entries: 2, Added: 2, MeanAgeDays: (141 + 121) / 2})
}

// A stats file of another catalog, or a damaged one, is refused, and the
// next period declares nothing rather than compare with it.
func TestStatsFileChecked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "1.stats")
	var digest [catalog.DigestSize]byte
	digest[0] = 1
	st := &accounting.CatalogStats{Entries: 3, Added: 3, MeanAgeDays: 4}
	must(t, writeStats(path, digest, st, []uint64{1, 5, 9}))
	got, err := readDeclared(path, digest)
	must(t, err)
	wantStats(t, "round trip", got, *st)
	other := digest
	other[0] = 2
	if _, err := readDeclared(path, other); err == nil {
		t.Fatal("stats file of another catalog accepted")
	}
	b, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(path, b[:len(b)-1], 0o600))
	if _, err := readDeclared(path, digest); err == nil {
		t.Fatal("truncated stats file accepted")
	}
	must(t, writeStats(path, digest, st, []uint64{1, 9, 5}))
	sf, err := openStats(path, digest)
	must(t, err)
	defer sf.f.Close()
	tl := &tally{hashes: []uint64{1}}
	if _, err := tl.declare(sf.hashes()); err == nil {
		t.Fatal("unsorted hashes compared")
	}
}

// FuzzStatsFile: whatever bytes a stats file holds, opening and streaming
// it does not panic, and what it accepts is strictly increasing, has the
// count its header says and writes back to the same bytes.
func FuzzStatsFile(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed")
	must(f, writeStats(seed, [catalog.DigestSize]byte{}, &accounting.CatalogStats{Entries: 2, Added: 1, Removed: 1, MeanAgeDays: 7}, []uint64{3, 8}))
	b, err := os.ReadFile(seed)
	must(f, err)
	f.Add(b)
	must(f, writeStats(seed, [catalog.DigestSize]byte{}, nil, nil))
	b, err = os.ReadFile(seed)
	must(f, err)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "1.stats")
		must(t, os.WriteFile(path, data, 0o600))
		sf, err := openStats(path, [catalog.DigestSize]byte{})
		if err != nil {
			return
		}
		defer sf.f.Close()
		var hashes []uint64
		for h, err := range sf.hashes() {
			if err != nil {
				return
			}
			hashes = append(hashes, h)
		}
		if uint64(len(hashes)) != sf.n || !slices.IsSorted(hashes) || len(slices.Compact(slices.Clone(hashes))) != len(hashes) {
			t.Fatalf("accepted %d hashes (header %d), not strictly increasing: %v", len(hashes), sf.n, hashes)
		}
		again := filepath.Join(t.TempDir(), "again")
		must(t, writeStats(again, [catalog.DigestSize]byte{}, sf.declared, hashes))
		back, err := os.ReadFile(again)
		must(t, err)
		if !bytes.Equal(back, data) {
			t.Fatalf("accepted file does not write back to itself:\n%x\n%x", data, back)
		}
	})
}
