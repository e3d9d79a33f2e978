package daemon

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/node/seal/sealtest"
)

// TestStatelessResetKeySurvivesRestart: the key is drawn once and read
// back on every later start (reopening node.db), since only the key a
// connection was made under can reset it after a restart; with sealing on
// node.db does not hold it in plain.
func TestStatelessResetKeySurvivesRestart(t *testing.T) {
	for name, ring := range map[string]*seal.Keyring{"plain": nil, "sealed": sealtest.Keyring(t)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.db")
			open := func() *bolt.DB {
				db, err := bolt.Open(path, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
			db := open()
			first, err := statelessResetKey(db, ring, bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
			if err != nil {
				t.Fatal(err)
			}
			err = db.View(func(tx *bolt.Tx) error {
				if stored := tx.Bucket(bucketPeer).Get(keyResetSecret); bytes.Equal(stored, first[:]) != (ring == nil) {
					t.Errorf("stored key %x, sealing on: %v", stored, ring != nil)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			db = open()
			defer db.Close()
			// A second start draws nothing: an empty reader would fail it.
			again, err := statelessResetKey(db, ring, bytes.NewReader(nil))
			if err != nil {
				t.Fatal(err)
			}
			if *again != *first || first[0] != 7 {
				t.Errorf("key after restart %x, first %x", again[:], first[:])
			}
		})
	}
}
