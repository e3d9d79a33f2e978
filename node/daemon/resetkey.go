package daemon

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/quic-go/quic-go"
	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/seal"
)

// The QUIC stateless reset key lives in node.db, beside the state it
// belongs with, rather than in a file of its own.
var (
	bucketPeer     = []byte("peer")
	keyResetSecret = []byte("stateless-reset-key")
)

// statelessResetKey returns the node's QUIC stateless reset key
// (node/peer.Config.StatelessResetKey), made on the first start and the
// same on every later one: only the key a connection was made under lets
// a restarted node reset it, which tells peers at once that it restarted.
// With sealing on (ring set) it is sealed in node.db.
func statelessResetKey(db *bolt.DB, ring *seal.Keyring, random io.Reader) (*quic.StatelessResetKey, error) {
	if random == nil {
		random = rand.Reader
	}
	var key quic.StatelessResetKey
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPeer)
		if err != nil {
			return err
		}
		if v := b.Get(keyResetSecret); v != nil {
			v, err := ring.OpenValue(bucketPeer, keyResetSecret, v)
			if err != nil {
				return err
			}
			if len(v) != len(key) {
				return fmt.Errorf("stored key of %d bytes, want %d", len(v), len(key))
			}
			copy(key[:], v)
			return nil
		}
		if _, err := io.ReadFull(random, key[:]); err != nil {
			return err
		}
		v, err := ring.SealValue(bucketPeer, keyResetSecret, key[:])
		if err != nil {
			return err
		}
		return b.Put(keyResetSecret, v)
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: stateless reset key: %w", err)
	}
	return &key, nil
}
