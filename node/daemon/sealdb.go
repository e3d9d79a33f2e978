package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"

	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/node/seal"
)

// node.db records whether its sensitive values are sealed with a marker
// value in bucketSeal, itself sealed, written when sealing is first on. Its
// value names how much is sealed: sealSteps[:n] have run for version n.
var (
	bucketSeal    = []byte("seal")
	sealMarkerKey = []byte("node.db")
)

// sealSteps seal node.db's values in place, in the order sealing came to
// cover them; a node.db sealed by a version that knew fewer steps gets the
// rest at its next start.
var sealSteps = []func(tx *bolt.Tx, ring *seal.Keyring) error{
	// 1: the raw list, the provider's journal, the requester's queries.
	func(tx *bolt.Tx, ring *seal.Keyring) error {
		if err := provider.SealStore(tx, ring); err != nil {
			return err
		}
		return requester.SealStore(tx, ring)
	},
	// 2: hit feedback, push events, dispute records, reconciliations'
	// saved state, the QUIC reset key.
	func(tx *bolt.Tx, ring *seal.Keyring) error {
		if err := requester.SealFeedback(tx, ring); err != nil {
			return err
		}
		if err := recon.SealStore(tx, ring); err != nil {
			return err
		}
		if err := push.SealStore(tx, ring); err != nil {
			return err
		}
		if err := dispute.SealStore(tx, ring); err != nil {
			return err
		}
		if b := tx.Bucket(bucketPeer); b != nil {
			return ring.SealBucket(b, bucketPeer)
		}
		return nil
	},
}

// sealMarker is the marker's plain value after n steps; the first
// version's was the bare word.
func sealMarker(n int) []byte {
	if n == 1 {
		return []byte("sealed")
	}
	return fmt.Appendf(nil, "sealed v%d", n)
}

// Errors of sealNodeDB.
var (
	// errSealedDB refuses to start without sealing on a node.db that holds
	// sealed values: they would be read as plain.
	errSealedDB = errors.New("daemon: node.db is sealed but the configuration seals nothing (at_rest.kek none): configure the KEK that sealed it")
	// errSealUnfolded refuses to seal node.db in place while a log beside
	// it holds writes a crash left unfolded (internal/groupcommit).
	errSealUnfolded = errors.New("daemon: node.db's logs hold writes an unclean stop left for the next start to fold: start the node once with at_rest as it was, stop it, then turn sealing on")
	// errSealNewer refuses a node.db a newer version sealed more of.
	errSealNewer = errors.New("daemon: node.db was sealed by a newer riskmesh")
)

// sealNodeDB checks that node.db's sealing matches ring (nil: sealing off)
// before any component reads it. On the first start with sealing on, the
// values written before are sealed in place, in one transaction with the
// marker (docs/operations.md, "Sealing node.db"); a node.db sealed by an
// earlier version gets the steps it lacks the same way. A node.db sealed
// under another data key (the keyring was replaced) is seal.ErrOtherKey.
func sealNodeDB(db *bolt.DB, ring *seal.Keyring) error {
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeal)
		switch {
		case b != nil && ring == nil:
			return errSealedDB
		case ring == nil:
			return nil
		}
		done := 0
		if b != nil {
			marker, err := ring.OpenValue(bucketSeal, sealMarkerKey, b.Get(sealMarkerKey))
			if err != nil {
				return fmt.Errorf("daemon: node.db: %w", err)
			}
			done = -1
			for n := 1; n <= len(sealSteps); n++ {
				if bytes.Equal(marker, sealMarker(n)) {
					done = n
				}
			}
			if done < 0 {
				return errSealNewer
			}
		}
		if done == len(sealSteps) {
			return nil
		}
		// A record left in a log by a crash replays on the state its
		// write ran on: sealing in place first would let it put plain
		// values back into a sealed bucket.
		unfolded, err := groupcommit.Unfolded(tx, db.Path())
		if err != nil {
			return fmt.Errorf("daemon: node.db's logs: %w", err)
		}
		if len(unfolded) > 0 {
			return fmt.Errorf("%w (%s)", errSealUnfolded, strings.Join(unfolded, ", "))
		}
		for _, step := range sealSteps[done:] {
			if err := step(tx, ring); err != nil {
				return fmt.Errorf("daemon: seal node.db: %w", err)
			}
		}
		marker, err := ring.SealValue(bucketSeal, sealMarkerKey, sealMarker(len(sealSteps)))
		if err != nil {
			return err
		}
		if b, err = tx.CreateBucketIfNotExists(bucketSeal); err != nil {
			return err
		}
		return b.Put(sealMarkerKey, marker)
	})
}
