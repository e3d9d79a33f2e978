package seal_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/seal"
)

// A database value opens only under the bucket and key it was sealed for;
// a nil keyring (sealing off) passes values through unchanged.
func TestValues(t *testing.T) {
	k, path := newKeyring(t, "correct horse")
	v := []byte("a query record")
	sealed, err := k.SealValue([]byte("requester/queries"), []byte("q-1"), v)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.OpenValue([]byte("requester/queries"), []byte("q-1"), sealed); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("OpenValue = %q, %v", got, err)
	}
	for _, loc := range [][2]string{{"requester/queries", "q-2"}, {"requester/pending", "q-1"}, {"requester/queries/q", "-1"}} {
		if _, err := k.OpenValue([]byte(loc[0]), []byte(loc[1]), sealed); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("value opened at %s %s: %v, want ErrOpen", loc[0], loc[1], err)
		}
	}
	var off *seal.Keyring
	if got, err := off.SealValue([]byte("b"), []byte("k"), v); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("sealing off: SealValue = %q, %v", got, err)
	}
	if got, err := off.OpenValue([]byte("b"), []byte("k"), v); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("sealing off: OpenValue = %q, %v", got, err)
	}

	// Index is a function of the data key: the same after reopening the
	// keyring, different under another data key and in another domain.
	id := []byte("phone:+8613800138000")
	reopened, err := seal.Open(path, fixedKEK(sha256.Sum256([]byte("correct horse"))))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newKeyring(t, "correct horse")
	a := k.Index("provider/imports", id)
	if len(a) != seal.IndexSize || !bytes.Equal(a, reopened.Index("provider/imports", id)) {
		t.Fatal("Index differs after reopening the keyring")
	}
	if bytes.Equal(a, other.Index("provider/imports", id)) || bytes.Equal(a, k.Index("provider/other", id)) ||
		bytes.Contains(a, id) {
		t.Fatal("Index does not depend on the data key and the domain")
	}
}

// SealBucket seals a bucket's plain values in place, each for its key, and
// leaves child buckets alone.
func TestSealBucket(t *testing.T) {
	k, _ := newKeyring(t, "correct horse")
	db, err := bolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := []byte("requester/queries")
	plain := map[string]string{"q-1": "one", "q-2": "two"}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(name)
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket([]byte("child")); err != nil {
			return err
		}
		for key, v := range plain {
			if err := b.Put([]byte(key), []byte(v)); err != nil {
				return err
			}
		}
		return k.SealBucket(b, name)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b.Bucket([]byte("child")) == nil {
			t.Error("the child bucket is gone")
		}
		for key, want := range plain {
			got, err := k.OpenValue(name, []byte(key), b.Get([]byte(key)))
			if err != nil || string(got) != want {
				t.Errorf("%s: %q, %v; want %q", key, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
