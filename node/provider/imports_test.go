package provider

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
)

var _ api.Importer = (*Provider)(nil)

// importable lets the fixture's source import CSV files with its mapping.
func importable(c *Config) {
	c.Sources[0].ImportFile = func(path string) (lists.Source, error) {
		return lists.NewDelimited(lists.File(path), lists.DelimitedConfig{
			Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"},
		})
	}
}

// writeList writes a CSV list with the fixture's header and rows.
func writeList(t testing.TB, rows ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "import.csv")
	must(t, os.WriteFile(path, []byte(csvRows(rows...)), 0o600))
	return path
}

func (f *fixture) importList(path string, replace, dryRun bool) *riskmeshv1.ListImport {
	f.t.Helper()
	imp, err := f.p.Import(f.ctx, &riskmeshv1.ImportListRequest{Source: "black-csv", Path: path, Replace: replace, DryRun: dryRun})
	must(f.t, err)
	if imp.GetError() != "" {
		f.t.Fatalf("import failed: %s", imp.GetError())
	}
	return imp
}

// stored returns the source's imported entries as canonical id -> reason.
func (f *fixture) stored() map[string]uint16 {
	f.t.Helper()
	out := map[string]uint16{}
	must(f.t, f.db.View(func(tx *bolt.Tx) error {
		is := f.p.openImported(tx, f.p.cfg.Sources[0])
		if is == nil {
			return nil
		}
		return is.b.ForEach(func(k, v []byte) error {
			e, err := is.decode(k, v)
			if err != nil {
				return err
			}
			out[e.ID.String()] = e.Label.Reason
			return nil
		})
	}))
	return out
}

// lookup looks phone up in period's catalog through Handle (lookupVia);
// it returns whether it hit and the label's reason.
func (f *fixture) lookup(period uint64, phone string) (bool, uint16) {
	f.t.Helper()
	res := f.lookupVia(f.handle, period, phone)
	return res[0].Hit, res[0].Label.Reason
}

// wantImportedHits checks period 2's look-ups after the import of
// +8613800138009 (reason 42) and +8613800138001 (reason 99, replacing the
// listed entry): the listed +8613800138000 stays.
func (f *fixture) wantImportedHits() {
	f.t.Helper()
	for _, c := range []struct {
		phone  string
		reason uint16
	}{{"+8613800138009", 42}, {"+8613800138001", 99}, {"+8613800138000", 7}} {
		if hit, reason := f.lookup(2, c.phone); !hit || reason != c.reason {
			f.t.Fatalf("look-up of %s in period 2: hit %v reason %d, want reason %d", c.phone, hit, reason, c.reason)
		}
	}
}

// nextPeriod rolls the ledger over and runs one maintenance pass.
func (f *fixture) nextPeriod() {
	f.t.Helper()
	_, err := f.regulator.Rollover(f.ctx)
	must(f.t, err)
	f.refresh()
	f.maintain()
}

// A dry run validates and counts, reports bad rows by line without their
// values, and stores and schedules nothing.
func TestImportDryRunChangesNothing(t *testing.T) {
	f := newFixture(t, importable)
	path := writeList(t, "+8613800138009,1,42,2024-05-01", "99999,1,7,2024-03-01", "+8613800138008,1,1,2024-05-01")
	imp := f.importList(path, false, true)
	if imp.GetRows() != 3 || imp.GetAccepted() != 2 || imp.GetRejected() != 1 || len(imp.GetCategories()) != 0 {
		t.Fatalf("dry run report %v, want 3 rows, 2 accepted, 1 rejected, no rebuild", imp)
	}
	bad := imp.GetRejectedRows()
	if len(bad) != 1 || bad[0].GetLine() != 3 || strings.Contains(bad[0].GetReason(), "99999") {
		t.Fatalf("rejected rows %v, want line 3 without the value", bad)
	}
	if got := f.stored(); len(got) != 0 {
		t.Fatalf("dry run stored %d entries", len(got))
	}
	select {
	case <-f.p.refresh:
		t.Fatal("dry run scheduled a rebuild")
	default:
	}
}

// An imported identifier is found once the next period's catalog is
// published, not before (the current catalog is immutable on the ledger);
// an imported entry wins over a listed one with the same identifier, and
// the listed entries stay.
func TestImportReachesNextPeriod(t *testing.T) {
	f := newFixture(t, importable)
	f.maintain()
	path := writeList(t, "+8613800138009,1,42,2024-05-01", "+8613800138001,1,99,2024-05-01")
	imp := f.importList(path, false, false)
	if imp.GetAccepted() != 2 || !slices.Equal(imp.GetCategories(), []string{category}) {
		t.Fatalf("import report %v", imp)
	}
	select {
	case <-f.p.refresh:
	default:
		t.Fatal("import did not schedule a rebuild")
	}
	f.maintain()
	if hit, _ := f.lookup(1, "+8613800138009"); hit {
		t.Fatal("imported identifier found in the catalog published before the import")
	}
	f.nextPeriod()
	f.wantImportedHits()
	if st := f.p.CatalogStatus(category); st[len(st)-1].GetItems() != 3 {
		t.Fatalf("period 2 catalog has %d items, want 3 (one listed entry replaced)", st[len(st)-1].GetItems())
	}
}

// Merge: a file entry replaces the imported one with the same identifier,
// others stay. Replace: only the file's entries remain.
func TestImportMergeAndReplace(t *testing.T) {
	f := newFixture(t, importable)
	f.importList(writeList(t, "+8613800138010,1,1,2024-05-01", "+8613800138011,1,2,2024-05-01"), false, false)
	f.importList(writeList(t, "+8613800138011,1,20,2024-05-01", "+8613800138012,1,3,2024-05-01"), false, false)
	want := map[string]uint16{"phone:+8613800138010": 1, "phone:+8613800138011": 20, "phone:+8613800138012": 3}
	if got := f.stored(); !maps.Equal(got, want) {
		t.Fatalf("after merge %v, want %v", got, want)
	}
	f.importList(writeList(t, "+8613800138013,1,4,2024-05-01"), true, false)
	want = map[string]uint16{"phone:+8613800138013": 4}
	if got := f.stored(); !maps.Equal(got, want) {
		t.Fatalf("after replace %v, want %v", got, want)
	}
}

// Requests that cannot be carried out are errors naming why; a file that
// cannot be read is reported in the ListImport and changes nothing.
func TestImportRefusals(t *testing.T) {
	f := newFixture(t, importable)
	f.importList(writeList(t, "+8613800138010,1,1,2024-05-01"), false, false)
	for _, c := range []struct {
		name, source, path string
		want               error
	}{
		{"unknown source", "grey-csv", "/x.csv", ErrUnknownSource},
		{"relative path", "black-csv", "x.csv", ErrImport},
	} {
		_, err := f.p.Import(f.ctx, &riskmeshv1.ImportListRequest{Source: c.source, Path: c.path})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for name, path := range map[string]string{
		"missing file": filepath.Join(t.TempDir(), "none.csv"),
		"broken quote": writeList(t, "+8613800138011,1,1,2024-05-01", `"+86138"00138012,1,1,2024-05-01`),
	} {
		imp, err := f.p.Import(f.ctx, &riskmeshv1.ImportListRequest{Source: "black-csv", Path: path, Replace: true})
		must(t, err)
		if imp.GetError() == "" || len(imp.GetCategories()) != 0 {
			t.Errorf("%s: report %v, want an error and no rebuild", name, imp)
		}
	}
	cancelled, cancel := context.WithCancel(f.ctx)
	cancel()
	_, err := f.p.Import(cancelled, &riskmeshv1.ImportListRequest{Source: "black-csv", Path: writeList(t, "+8613800138013,1,1,2024-05-01"), Replace: true})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled import: %v, want context.Canceled", err)
	}
	if got := f.stored(); len(got) != 1 || got["phone:+8613800138010"] != 1 {
		t.Fatalf("failed imports changed the imported set: %v", got)
	}

	noImport := newFixture(t, nil)
	_, err = noImport.p.Import(noImport.ctx, &riskmeshv1.ImportListRequest{Source: "black-csv", Path: "/x.csv"})
	if !errors.Is(err, ErrImport) {
		t.Fatalf("import into a source without ImportFile: %v, want ErrImport", err)
	}
}

// The imported set is durable: reopening the node's DB finds it intact,
// and what an interrupted import staged is deleted, not imported.
func TestImportSurvivesReopen(t *testing.T) {
	f := newFixture(t, importable)
	f.importList(writeList(t, "+8613800138010,1,1,2024-05-01", "+8613800138011,1,2,2024-05-01"), false, false)
	must(t, f.db.Update(func(tx *bolt.Tx) error { // an import cut short after staging
		b, err := tx.Bucket(bucketImportStaging).CreateBucket([]byte("black-csv"))
		if err != nil {
			return err
		}
		id, _ := ident.Normalize("phone", "+8613800138019")
		v, _ := catalog.Label{Category: 1}.MarshalBinary()
		return b.Put(importKey(1, id), v)
	}))
	path := f.db.Path()
	must(t, f.db.Close())
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	t.Cleanup(func() { db.Close() })
	cfg := f.p.cfg
	cfg.DB = db
	f.db = db
	f.p, err = New(cfg)
	must(t, err)
	want := map[string]uint16{"phone:+8613800138010": 1, "phone:+8613800138011": 2}
	if got := f.stored(); !maps.Equal(got, want) {
		t.Fatalf("after reopen %v, want %v", got, want)
	}
	must(t, db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketImportStaging).Bucket([]byte("black-csv")) != nil {
			t.Error("staged entries of the interrupted import survived New")
		}
		return nil
	}))
}

// Imports committing while a catalog is built leave the build a consistent
// snapshot (run with -race): the build succeeds and every import is stored.
func TestImportDuringBuild(t *testing.T) {
	f := newFixture(t, importable)
	paths := []string{
		writeList(t, "+8613800138010,1,1,2024-05-01"),
		writeList(t, "+8613800138011,1,2,2024-05-01"),
		writeList(t, "+8613800138012,1,3,2024-05-01"),
	}
	imported := f.importAll(paths)
	failed := f.p.maintain(f.ctx)
	must(t, <-imported)
	if failed {
		t.Fatalf("build failed: %v", f.p.CatalogStatus(category))
	}
	if n := f.p.CatalogStatus(category)[0].GetItems(); n < 2 || n > 5 {
		t.Fatalf("catalog of %d items, want the 2 listed plus a prefix of the imports", n)
	}
	if got := len(f.stored()); got != 3 {
		t.Fatalf("%d imported entries stored, want 3", got)
	}
}

// importAll imports the files at paths one after the other in the
// background; the channel gets the first failure, or nil.
func (f *fixture) importAll(paths []string) <-chan error {
	imported := make(chan error, 1)
	go func() {
		for _, p := range paths {
			imp, err := f.p.Import(f.ctx, &riskmeshv1.ImportListRequest{Source: "black-csv", Path: p})
			if err == nil && imp.GetError() != "" {
				err = errors.New(imp.GetError())
			}
			if err != nil {
				imported <- err
				return
			}
		}
		imported <- nil
	}()
	return imported
}

// A stored imported entry that does not decode fails the build with an
// error instead of being left out of the catalog.
func TestDamagedImportFailsBuild(t *testing.T) {
	f := newFixture(t, importable)
	f.importList(writeList(t, "+8613800138010,1,1,2024-05-01"), false, false)
	must(t, f.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImports).Bucket([]byte("black-csv")).Put([]byte{1, 'p', 'h'}, []byte{1})
	}))
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("build with a damaged imported entry succeeded")
	}
	if st := f.p.CatalogStatus(category)[0]; !strings.Contains(st.GetError(), "imported entry") {
		t.Fatalf("status %v does not name the damaged imported entry", st)
	}
}
