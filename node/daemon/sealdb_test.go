package daemon

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/node/seal/sealtest"
)

func openTestDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// A node.db written without sealing is sealed in place on the first start
// with sealing on; afterwards it opens only with that keyring: without
// sealing or with another keyring the node refuses to start, and a wrong
// passphrase does not even open the keyring.
func TestSealNodeDB(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.db")
	// Every bucket the table in docs/operations.md marks sealed, and two
	// it marks plain.
	sealed := []string{"requester/queries", "requester/pending", "requester/transcripts",
		"requester/feedback-hits", "requester/feedback-parts", "provider/transcripts", "push/events", "dispute/records", "peer"}
	plainBuckets := []string{"requester/feedback-entries", "push/streams"}
	key, plain := []byte("q-1"), []byte("a stored value")
	db := openTestDB(t, path)
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range append(slices.Clone(sealed), plainBuckets...) {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put(key, plain); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, nil); err != nil {
		t.Fatalf("plain node.db without sealing: %v", err)
	}
	cfg := &Config{DataDir: dir, Keys: KeysConfig{AtRest: AtRestPassphrase, Passphrase: []byte("sandbox")}}
	ring, err := openKeyring(cfg, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, ring); err != nil {
		t.Fatalf("first sealed start: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range sealed {
			v := tx.Bucket([]byte(name)).Get(key)
			if bytes.Equal(v, plain) {
				t.Errorf("the plain value in %s was not sealed", name)
			}
			got, err := ring.OpenValue([]byte(name), key, v)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("migrated value in %s opens to %q, %v", name, got, err)
			}
		}
		for _, name := range plainBuckets {
			if v := tx.Bucket([]byte(name)).Get(key); !bytes.Equal(v, plain) {
				t.Errorf("the value in %s, kept plain, is now %q", name, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, ring); err != nil {
		t.Fatalf("restart with the same keyring: %v", err)
	}
	if err := sealNodeDB(db, nil); !errors.Is(err, errSealedDB) {
		t.Fatalf("sealed node.db without sealing: %v, want errSealedDB", err)
	}
	other, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, other); !errors.Is(err, seal.ErrOtherKey) {
		t.Fatalf("sealed node.db with a replaced keyring: %v, want seal.ErrOtherKey", err)
	}
	wrong := *cfg
	wrong.Keys.Passphrase = []byte("not the passphrase")
	if _, err := openKeyring(&wrong, nil, true); !errors.Is(err, seal.ErrKEK) {
		t.Fatalf("wrong passphrase: %v, want seal.ErrKEK", err)
	}
	db.Close()
}

// A node.db sealed by the version that sealed only the first step's
// buckets gets the later buckets sealed in place at its next start, the
// earlier ones left as they are (not sealed twice); a marker no version
// here wrote is refused.
func TestSealNodeDBUpgrades(t *testing.T) {
	db := openTestDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ring := sealtest.Keyring(t)
	key, plain := []byte("k"), []byte("a stored value")
	first, later := "requester/queries", []string{"requester/feedback-hits", "push/events", "dispute/records", "peer"}
	put := func(tx *bolt.Tx, name string, v []byte) error {
		b, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		return b.Put(key, v)
	}
	err := db.Update(func(tx *bolt.Tx) error {
		sealed, err := ring.SealValue([]byte(first), key, plain)
		if err != nil {
			return err
		}
		if err := put(tx, first, sealed); err != nil {
			return err
		}
		for _, name := range later {
			if err := put(tx, name, plain); err != nil {
				return err
			}
		}
		// The first version's marker.
		marker, err := ring.SealValue(bucketSeal, sealMarkerKey, []byte("sealed"))
		if err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketSeal)
		if err != nil {
			return err
		}
		return b.Put(sealMarkerKey, marker)
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second start finds nothing left to seal
		if err := sealNodeDB(db, ring); err != nil {
			t.Fatal(err)
		}
		err = db.View(func(tx *bolt.Tx) error {
			for _, name := range append([]string{first}, later...) {
				got, err := ring.OpenValue([]byte(name), key, tx.Bucket([]byte(name)).Get(key))
				if err != nil || !bytes.Equal(got, plain) {
					t.Errorf("%s after the upgrade opens to %q, %v", name, got, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		marker, err := ring.SealValue(bucketSeal, sealMarkerKey, sealMarker(len(sealSteps)+1))
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSeal).Put(sealMarkerKey, marker)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, ring); !errors.Is(err, errSealNewer) {
		t.Fatalf("a newer version's marker: %v, want errSealNewer", err)
	}
}

// A log beside node.db holding a write a crash left unfolded stops the
// first sealing (the record would replay plain values into a sealed
// bucket); once its Committer has folded it, sealing goes ahead.
func TestSealNodeDBWaitsForUnfoldedLogs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.db")
	bucket := []byte("requester/queries")
	put := func(rec []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			return b.Put(rec, rec)
		}
	}
	replay := func(tx *bolt.Tx, rec []byte) error { return put(rec)(tx) }
	db := openTestDB(t, path)
	c, err := groupcommit.Open(db, "test", replay)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Log([]byte("q-1"), put([]byte("q-1"))); err != nil {
		t.Fatal(err)
	}
	// The crash: node.db as it was before the write, the log after it.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	crashed := filepath.Join(t.TempDir(), "node.db")
	copyBefore := openTestDB(t, crashed)
	copyBefore.Close()
	logBytes, err := os.ReadFile(path + ".test.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crashed+".test.log", logBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := &Config{DataDir: dir, Keys: KeysConfig{AtRest: AtRestPassphrase, Passphrase: []byte("sandbox")}}
	ring, err := openKeyring(cfg, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, crashed)
	defer db.Close()
	if err := sealNodeDB(db, ring); !errors.Is(err, errSealUnfolded) {
		t.Fatalf("sealing over an unfolded log: %v, want errSealUnfolded", err)
	}
	c, err = groupcommit.Open(db, "test", replay) // the start with sealing as it was
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sealNodeDB(db, ring); err != nil {
		t.Fatalf("sealing after the fold: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte("q-1")); bytes.Equal(v, []byte("q-1")) {
			return errors.New("the replayed value was left plain")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
