package provider

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/largevalue"
	"github.com/riskmesh/riskmesh/node/seal"
)

// sealed is the fixture tweak that turns sealing on with a fresh keyring.
func sealed(t testing.TB) func(*Config) {
	t.Helper()
	ring, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	must(t, err)
	return func(c *Config) { c.Seal = ring }
}

// atRest runs test with sealing off and on: the store keeps its
// guarantees either way.
func atRest(t *testing.T, test func(t *testing.T, tweak func(*Config))) {
	t.Run("plain", func(t *testing.T) { test(t, nil) })
	t.Run("sealed", func(t *testing.T) { test(t, sealed(t)) })
}

// reopen closes the fixture's node.db and starts a new Provider on it
// with the same configuration, as a restart does.
func (f *fixture) reopen() {
	f.t.Helper()
	path := f.db.Path()
	must(f.t, f.p.Close())
	must(f.t, f.db.Close())
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(f.t, err)
	f.t.Cleanup(func() { db.Close() })
	cfg := f.p.cfg
	cfg.DB, f.db = db, db
	f.p, err = New(cfg)
	must(f.t, err)
	p := f.p
	f.t.Cleanup(func() { p.Close() })
}

// With sealing on, node.db holds neither an imported identifier nor a
// transcript in plain; after a restart both are read back, the imported
// entries reach the next catalog, and an answered request's retry gets
// its stored answer.
func TestSealedImportsAndTranscripts(t *testing.T) {
	f := newFixture(t, func(c *Config) { importable(c); sealed(t)(c) })
	f.maintain()
	f.importList(writeList(t, "+8613800138009,1,42,2024-05-01", "+8613800138001,1,99,2024-05-01"), false, false)
	q := f.newQuery(1, 0, phone)
	first := f.handle(q.req).GetEvaluate()
	if first == nil {
		t.Fatal("evaluate refused")
	}
	plain, err := f.p.Transcript(1, q.header.Sequence, requesterMSP)
	must(t, err)
	file, err := plain.MarshalBinary()
	must(t, err)
	must(t, f.db.Sync())
	data, err := os.ReadFile(f.db.Path())
	must(t, err)
	for _, secret := range [][]byte{[]byte("8613800138009"), []byte("8613800138001"), file[len(file)/2:]} {
		if bytes.Contains(data, secret) {
			t.Fatalf("node.db holds %q in plain", secret[:min(len(secret), 16)])
		}
	}

	f.reopen()
	want := map[string]uint16{"phone:+8613800138009": 42, "phone:+8613800138001": 99}
	if got := f.stored(); !maps.Equal(got, want) {
		t.Fatalf("after restart imported %v, want %v", got, want)
	}
	again := f.handle(q.req).GetEvaluate()
	if again == nil || !bytes.Equal(again.GetResponderSignature(), first.GetResponderSignature()) {
		t.Fatal("the retry after a restart did not get the sealed stored answer")
	}
	if d := f.p.OutboxDepth(); d != 1 {
		t.Fatalf("outbox depth %d after a retry, want 1", d)
	}
	f.nextPeriod()
	f.wantImportedHits()

	// The catalogs stay plain (docs/threat-model.md, "Catalogs at rest"):
	// the one that now answers for the imported entries holds neither
	// their identifiers nor anything of the sealed records in plain.
	var files []string
	must(t, filepath.WalkDir(filepath.Join(f.p.cfg.DataDir, "catalogs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	}))
	if len(files) < 2 {
		t.Fatalf("catalog files %v, want both periods'", files)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		must(t, err)
		for _, secret := range [][]byte{[]byte("8613800138009"), []byte("8613800138001"), []byte("8613800138000")} {
			if bytes.Contains(data, secret) {
				t.Fatalf("%s holds the listed identifier %s in plain", filepath.Base(path), secret)
			}
		}
	}
}

// swapValues exchanges the values under two keys of the bucket path
// (a top-level bucket, then child buckets) in node.db, as someone with
// write access to the file can.
func (f *fixture) swapValues(path [][]byte, pick func(k []byte) bool) {
	f.t.Helper()
	must(f.t, f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(path[0])
		for _, name := range path[1:] {
			b = b.Bucket(name)
		}
		var keys, vals [][]byte
		must(f.t, b.ForEach(func(k, v []byte) error {
			if pick(k) {
				keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			}
			return nil
		}))
		if len(keys) < 2 {
			f.t.Fatalf("%d values to swap, want 2", len(keys))
		}
		must(f.t, b.Put(keys[0], vals[1]))
		return b.Put(keys[1], vals[0])
	}))
}

// swapTranscripts exchanges the stored transcripts of two exchanges in
// node.db, as someone with write access to the file can.
func (f *fixture) swapTranscripts() {
	f.t.Helper()
	must(f.t, f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTranscripts)
		var keys [][]byte
		must(f.t, b.ForEachBucket(func(k []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}))
		if len(keys) < 2 {
			f.t.Fatalf("%d transcripts to swap, want 2", len(keys))
		}
		v1, v2 := bytes.Clone(largevalue.Get(b, keys[0])), bytes.Clone(largevalue.Get(b, keys[1]))
		for i, v := range [][]byte{v2, v1} {
			must(f.t, largevalue.Delete(b, keys[i]))
			must(f.t, largevalue.Put(b, keys[i], v))
		}
		return nil
	}))
}

// TestAdversarySealedValueSwapped plays whoever edits node.db of a sealing
// node: an imported entry's value moved to another entry's key, or one
// exchange's transcript moved under another exchange, does not open, so
// the catalog build fails and the transcript read is refused instead of
// publishing or serving the wrong record.
func TestAdversarySealedValueSwapped(t *testing.T) {
	f := newFixture(t, func(c *Config) { importable(c); sealed(t)(c) })
	f.importList(writeList(t, "+8613800138009,1,42,2024-05-01", "+8613800138008,1,43,2024-05-01"), false, false)
	f.swapValues([][]byte{bucketImports, []byte("black-csv")}, func([]byte) bool { return true })
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("a catalog was built from swapped imported entries")
	}
	if st := f.p.CatalogStatus(category); len(st) != 1 || !strings.Contains(st[0].GetError(), seal.ErrOpen.Error()) {
		t.Fatalf("build over swapped entries: status %v, want a seal.ErrOpen failure", st)
	}

	q1, q2 := f.newQuery(1, 0, phone), f.newQuery(1, 0, phone)
	for _, q := range []*query{q1, q2} {
		if f.handle(q.req).GetEvaluate() == nil {
			t.Fatal("evaluate refused")
		}
	}
	f.swapTranscripts()
	for _, q := range []*query{q1, q2} {
		if _, err := f.p.Transcript(1, q.header.Sequence, requesterMSP); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("transcript moved to another exchange: %v, want seal.ErrOpen", err)
		}
		if f.handle(q.req).GetEvaluate() != nil {
			t.Fatal("a retry was answered from a transcript moved from another exchange")
		}
	}
}

// A node.db a provider wrote without sealing, passed through SealStore (as
// the daemon does on the first start with sealing on), is read by a
// sealing provider: its imported entries, and its stored answers, which a
// retry still gets without being billed twice.
func TestSealStoreMigratesPlainDB(t *testing.T) {
	f := newFixture(t, importable)
	f.importList(writeList(t, "+8613800138009,1,42,2024-05-01"), false, false)
	q := f.newQuery(1, 0, phone)
	first := f.handle(q.req).GetEvaluate()
	if first == nil {
		t.Fatal("evaluate refused")
	}
	tweak := sealed(t)
	tweak(&f.p.cfg)
	must(t, f.db.Update(func(tx *bolt.Tx) error { return SealStore(tx, f.p.cfg.Seal) }))
	f.reopen()
	if got, want := f.stored(), map[string]uint16{"phone:+8613800138009": 42}; !maps.Equal(got, want) {
		t.Fatalf("after sealing imported %v, want %v", got, want)
	}
	again := f.handle(q.req).GetEvaluate()
	if again == nil || !bytes.Equal(again.GetResponderSignature(), first.GetResponderSignature()) {
		t.Fatal("the retry after sealing did not get the stored answer")
	}
	if d := f.p.OutboxDepth(); d != 1 {
		t.Fatalf("outbox depth %d after a retry, want 1", d)
	}
}
