// Package largevalue stores values of tens of kilobytes in a bbolt bucket
// so that a commit adding one writes that value and little else.
//
// bbolt never splits a leaf page of four keys or fewer, so large values
// stored as plain values share leaf pages two to four at a time, and a
// commit that adds or changes one writes the page with all of them again:
// a 66 KB transcript appended beside three others makes a commit write
// about 260 KB, and its fdatasync waits on all of it. Here each value is
// the one value of a child bucket of its own, named by the value's key:
// the child's root page holds the value alone, and the parent's leaf holds
// the children's small headers only.
//
// Get also reads a plain value stored under the key, as files written
// before a bucket moved to this layout hold them, so no migration is
// needed; Delete and Rewrite handle both.
package largevalue

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// valueKey is the key of the one value in a child bucket.
var valueKey = []byte{0}

// Put stores v under key in b, in a child bucket of its own, replacing
// what key held, either way.
func Put(b *bolt.Bucket, key, v []byte) error {
	if err := Delete(b, key); err != nil {
		return err
	}
	child, err := b.CreateBucket(key)
	if err != nil {
		return err
	}
	return child.Put(valueKey, v)
}

// Get returns the value stored under key in b, nil if there is none: the
// value of key's child bucket, or a plain value. Like bbolt's, it is valid
// only while the transaction is open.
func Get(b *bolt.Bucket, key []byte) []byte {
	if child := b.Bucket(key); child != nil {
		return child.Get(valueKey)
	}
	return b.Get(key)
}

// Delete removes the value stored under key in b, either way; a key not
// stored is not an error.
func Delete(b *bolt.Bucket, key []byte) error {
	if b.Bucket(key) != nil {
		return b.DeleteBucket(key)
	}
	return b.Delete(key)
}

// Rewrite replaces every value of b, stored either way, by f of its key
// and value, keeping its layout (e.g. sealing the values of a file written
// without sealing).
func Rewrite(b *bolt.Bucket, f func(key, v []byte) ([]byte, error)) error {
	var keys [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		dst, dk := b, k
		if child := b.Bucket(k); child != nil {
			dst, dk = child, valueKey
		}
		v, err := f(k, dst.Get(dk))
		if err != nil {
			return err
		}
		if err := dst.Put(dk, v); err != nil {
			return err
		}
	}
	return nil
}
