package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"

	bolt "go.etcd.io/bbolt"
)

// Database values. A node's bbolt file (node.db) keeps its sensitive
// values sealed at the location "db/<bucket>/<key>", so a value copied to
// another key or bucket does not open (docs/threat-model.md, "Data at
// rest"). Keys stay in plain: bbolt must order and find them. A key that
// would name an identifier is replaced by Index of it.
//
// A nil *Keyring is sealing turned off: SealValue and OpenValue return the
// value unchanged, so a store calls them unconditionally and a node
// without at_rest reads and writes node.db as before.

// dbLocation is the location of the value under key in bucket.
func dbLocation(bucket, key []byte) string {
	return "db/" + string(bucket) + "/" + string(key)
}

// SealValue seals v for key in bucket; v itself if k is nil.
func (k *Keyring) SealValue(bucket, key, v []byte) ([]byte, error) {
	if k == nil {
		return v, nil
	}
	return k.Seal(dbLocation(bucket, key), v)
}

// OpenValue opens a value SealValue sealed for key in bucket; v itself if
// k is nil. A value moved from another key or bucket is ErrOpen.
func (k *Keyring) OpenValue(bucket, key, v []byte) ([]byte, error) {
	if k == nil {
		return v, nil
	}
	return k.Open(dbLocation(bucket, key), v)
}

// IndexSize is the length of Index's result.
const IndexSize = sha256.Size

// indexLabel separates the index key from every other use of the data key.
const indexLabel = "riskmesh seal index v1"

// Index is a keyed hash (HMAC-SHA256 under a key derived from the data
// key) of data in domain: a database key for a value that must be found
// by an identifier without storing the identifier. Without the data key
// an index neither reveals its identifier nor can be tested against a
// guessed one.
func (k *Keyring) Index(domain string, data []byte) []byte {
	m := hmac.New(sha256.New, k.indexKey)
	m.Write([]byte{byte(len(domain))})
	m.Write([]byte(domain))
	m.Write(data)
	return m.Sum(nil)
}

// SealBucket seals, in place, every value of b, the bucket named name,
// which holds plain values: the migration of a node.db written before
// sealing was turned on. Child buckets are left alone.
func (k *Keyring) SealBucket(b *bolt.Bucket, name []byte) error {
	var keys, vals [][]byte
	err := b.ForEach(func(key, v []byte) error {
		if v != nil { // nil: a child bucket
			keys, vals = append(keys, bytes.Clone(key)), append(vals, bytes.Clone(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, key := range keys {
		v, err := k.SealValue(name, key, vals[i])
		if err != nil {
			return err
		}
		if err := b.Put(key, v); err != nil {
			return err
		}
	}
	return nil
}
