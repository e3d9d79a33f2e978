package daemon

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/node/seal"
)

// node.db records whether its sensitive values are sealed with a marker
// value in bucketSeal, itself sealed, written when sealing is first on.
var (
	bucketSeal    = []byte("seal")
	sealMarkerKey = []byte("node.db")
)

// errSealedDB refuses to start without sealing on a node.db that holds
// sealed values: they would be read as plain.
var errSealedDB = errors.New("daemon: node.db is sealed but the configuration seals nothing (at_rest.kek none): configure the KEK that sealed it")

// sealNodeDB checks that node.db's sealing matches ring (nil: sealing off)
// before any component reads it. On the first start with sealing on, the
// values written before are sealed in place, in one transaction with the
// marker (docs/operations.md, "Sealing node.db"); a node.db sealed under
// another data key (the keyring was replaced) is seal.ErrOtherKey.
func sealNodeDB(db *bolt.DB, ring *seal.Keyring) error {
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeal)
		switch {
		case b != nil && ring == nil:
			return errSealedDB
		case ring == nil:
			return nil
		case b != nil:
			if _, err := ring.OpenValue(bucketSeal, sealMarkerKey, b.Get(sealMarkerKey)); err != nil {
				return fmt.Errorf("daemon: node.db: %w", err)
			}
			return nil
		}
		if err := provider.SealStore(tx, ring); err != nil {
			return fmt.Errorf("daemon: seal node.db: %w", err)
		}
		if err := requester.SealStore(tx, ring); err != nil {
			return fmt.Errorf("daemon: seal node.db: %w", err)
		}
		if err := recon.SealStore(tx, ring); err != nil {
			return fmt.Errorf("daemon: seal node.db: %w", err)
		}
		marker, err := ring.SealValue(bucketSeal, sealMarkerKey, []byte("sealed"))
		if err != nil {
			return err
		}
		if b, err = tx.CreateBucket(bucketSeal); err != nil {
			return err
		}
		return b.Put(sealMarkerKey, marker)
	})
}
