package largevalue

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("b")

func open(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	return db
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// value is a distinct value of size bytes for key number i.
func value(i, size int) []byte {
	v := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(v, uint32(i))
	return v
}

// pageAlloc is the bytes of pages db's committed transactions allocated.
func pageAlloc(db *bolt.DB) int64 {
	s := db.Stats()
	return s.TxStats.GetPageAlloc()
}

func key(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

// Appending a 66 KB value writes about that much: as plain values, the
// leaf page holding the last key held up to four such values and each
// commit wrote them all again.
func TestPutWritesTheValueAlone(t *testing.T) {
	const size = 66 << 10
	for _, tc := range []struct {
		name string
		put  func(b *bolt.Bucket, k, v []byte) error
		max  int64 // bytes of pages a commit may write, once the bucket holds several
	}{
		{"child buckets", Put, size * 3 / 2},
		{"plain values", func(b *bolt.Bucket, k, v []byte) error { return b.Put(k, v) }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			var most int64
			for i := range 10 {
				before := pageAlloc(db)
				must(t, db.Update(func(tx *bolt.Tx) error { return tc.put(tx.Bucket(bucket), key(i), value(i, size)) }))
				if written := pageAlloc(db) - before; i >= 4 {
					most = max(most, written)
				}
			}
			switch {
			case tc.max >= 0 && most > tc.max:
				t.Errorf("a commit wrote %d bytes of pages for a %d-byte value", most, size)
			case tc.max < 0 && most < 3*size: // the cost this package avoids is real
				t.Errorf("plain values: a commit wrote only %d bytes of pages", most)
			}
		})
	}
}

// Values stored either way are read, rewritten and deleted alike, so a
// bucket written before it moved to child buckets needs no migration.
func TestBothLayouts(t *testing.T) {
	db := open(t)
	must(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if err := b.Put(key(1), value(1, 100)); err != nil { // as an older file holds it
			return err
		}
		return Put(b, key(2), value(2, 100))
	}))
	must(t, db.Update(func(tx *bolt.Tx) error {
		return Rewrite(tx.Bucket(bucket), func(k, v []byte) ([]byte, error) { return append(bytes.Clone(k), v...), nil })
	}))
	must(t, db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, i := range []int{1, 2} {
			if got, want := Get(b, key(i)), append(key(i), value(i, 100)...); !bytes.Equal(got, want) {
				t.Errorf("value %d after Rewrite: %x, want %x", i, got, want)
			}
		}
		if Get(b, key(3)) != nil {
			t.Error("a key never stored has a value")
		}
		return nil
	}))
	must(t, db.Update(func(tx *bolt.Tx) error { // over either layout
		b := tx.Bucket(bucket)
		for _, i := range []int{1, 2} {
			if err := Put(b, key(i), value(i+10, 100)); err != nil {
				return err
			}
			if got := Get(b, key(i)); !bytes.Equal(got, value(i+10, 100)) {
				t.Errorf("value %d after a second Put: %x", i, got)
			}
		}
		return nil
	}))
	must(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, i := range []int{1, 2, 3} {
			if err := Delete(b, key(i)); err != nil {
				return err
			}
		}
		if k, _ := b.Cursor().First(); k != nil {
			t.Errorf("key %x left after Delete", k)
		}
		return nil
	}))
}
