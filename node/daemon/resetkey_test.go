package daemon

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestStatelessResetKeySurvivesRestart: the key is drawn once and read
// back on every later start (reopening node.db), since only the key a
// connection was made under can reset it after a restart.
func TestStatelessResetKeySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	open := func() *bolt.DB {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	first, err := statelessResetKey(db, bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open()
	defer db.Close()
	// A second start draws nothing: an empty reader would fail it.
	again, err := statelessResetKey(db, bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	if *again != *first || first[0] != 7 {
		t.Errorf("key after restart %x, first %x", again[:], first[:])
	}
}
