package ecsig

import (
	"crypto/ecdsa"
	"sync"
)

// Bounds and threshold of Keys.
const (
	// TableFrom is how many verifications a key must have been named for,
	// since it was last counted, before it gets a PrecomputedKey: a table
	// costs about as much CPU as 35 verifications save, so 64 leaves a
	// margin. In a ledger batch of a few hundred entries both parties' keys
	// reach it at once; a provider verifying one request at a time reaches
	// it at its requester's 64th request.
	TableFrom = 64
	// maxTables is how many keys of a Keys hold a table (about 260 KB
	// each); the least recently used loses its table first.
	maxTables = 16
	// maxKeys is how many parsed keys a Keys holds; when full, the keys
	// without a table are dropped and their counts start again.
	maxKeys = 1024
)

// Keys verifies signatures under PKIX DER public keys, parsing each key
// once (parsing costs about half a verification) and, for the keys that
// verify the most, verifying with a PrecomputedKey. A table only changes
// how fast a signature verifies, never the verdict
// (TestPrecomputedKeyAgreesWithVerifyKey, FuzzPrecomputedVerify), so a
// process with a table and one without reach the same outcome. A caller
// cannot make tables churn for less than it already pays: a key gets one
// only after TableFrom verifications under it since it was last counted,
// each costing more than a table saves. The zero value is ready to use;
// it is safe for concurrent use.
type Keys struct {
	mu     sync.Mutex
	tick   uint64
	keys   map[string]*heldKey // by the key's DER
	tables int                 // keys holding a table
}

type heldKey struct {
	key      *ecdsa.PublicKey
	table    *PrecomputedKey
	uses     int // verifications named since the key was last counted
	building bool
	lastUsed uint64
}

// shared holds the keys of Verify and VerifyAny: the registry's keys of a
// consortium, which every node verifies over and over.
var shared Keys

// Verifier verifies signatures under one public key, with its table if it
// has one. Its zero value verifies nothing.
type Verifier struct {
	key   *ecdsa.PublicKey
	table *PrecomputedKey
}

// Verify checks a DER low-S signature over digest, as VerifyKey does.
func (v Verifier) Verify(digest, sig []byte) error {
	switch {
	case v.table != nil:
		return v.table.Verify(digest, sig)
	case v.key != nil:
		return VerifyKey(v.key, digest, sig)
	}
	return ErrNoKey
}

// Key returns the verifier of the PKIX DER key der, counting named more
// verifications under it toward its table; the table is built here, on the
// call that reaches TableFrom.
func (ks *Keys) Key(der []byte, named int) (Verifier, error) {
	ks.mu.Lock()
	ks.tick++
	h, ok := ks.keys[string(der)]
	if !ok {
		ks.mu.Unlock()
		key, err := ParsePublicKey(der)
		if err != nil {
			return Verifier{}, err
		}
		ks.mu.Lock()
		if h, ok = ks.keys[string(der)]; !ok {
			h = ks.hold(der, key)
		}
	}
	h.lastUsed = ks.tick
	if h.table != nil || h.building {
		v := Verifier{key: h.key, table: h.table}
		ks.mu.Unlock()
		return v, nil
	}
	if h.uses += named; h.uses < TableFrom {
		v := Verifier{key: h.key}
		ks.mu.Unlock()
		return v, nil
	}
	h.building = true
	ks.mu.Unlock()

	// A parsed key is a P-256 key, so this does not fail; if it did,
	// VerifyKey would verify as before.
	table, err := Precompute(h.key)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	h.building, h.uses = false, 0
	if err != nil {
		return Verifier{key: h.key}, nil
	}
	if ks.tables >= maxTables {
		ks.dropOldestTable()
	}
	h.table = table
	ks.tables++
	return Verifier{key: h.key, table: table}, nil
}

// hold adds a parsed key, first dropping the keys without a table if
// maxKeys are held. ks.mu is held.
func (ks *Keys) hold(der []byte, key *ecdsa.PublicKey) *heldKey {
	if ks.keys == nil {
		ks.keys = map[string]*heldKey{}
	}
	if len(ks.keys) >= maxKeys {
		for d, h := range ks.keys {
			if h.table == nil && !h.building {
				delete(ks.keys, d)
			}
		}
	}
	h := &heldKey{key: key}
	ks.keys[string(der)] = h
	return h
}

// dropOldestTable takes the table of the least recently used key that has
// one; its count starts again. ks.mu is held.
func (ks *Keys) dropOldestTable() {
	var oldest *heldKey
	for _, h := range ks.keys {
		if h.table != nil && (oldest == nil || h.lastUsed < oldest.lastUsed) {
			oldest = h
		}
	}
	if oldest != nil {
		oldest.table = nil
		ks.tables--
	}
}

// Tables returns how many keys hold a table.
func (ks *Keys) Tables() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.tables
}

// VerifyAny is the package's VerifyAny over the keys ks holds.
func (ks *Keys) VerifyAny(publicKeysDER [][]byte, digest, sig []byte) error {
	if len(publicKeysDER) == 0 {
		return ErrNoKey
	}
	var first error
	for i, der := range publicKeysDER {
		v, err := ks.Key(der, 1)
		if err == nil {
			err = v.Verify(digest, sig)
		}
		if err == nil {
			return nil
		}
		if i == 0 {
			first = err
		}
	}
	return first
}
