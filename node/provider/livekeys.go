package provider

import (
	"sync"

	"github.com/riskmesh/riskmesh/psi/hepsi"
)

// liveKeys holds requesters' evaluation keys for live queries that name
// theirs by digest (docs/protocol/hepsi.md, "Served by the node"): the
// keys in one bounded hepsi.KeyCache, and which requester sent which key.
// A query naming a key its requester did not send here is refused like
// an unknown key, so a member cannot have its queries evaluated under
// another member's key nor learn whether that member queried this
// provider recently. Both are bounded by the same capacity; an owner
// forgotten before its key costs that requester one resend.
type liveKeys struct {
	cache *hepsi.KeyCache

	mu       sync.Mutex
	capacity int
	owners   map[keyOwner]struct{}
	order    []keyOwner // oldest first
}

// keyOwner is a requester (MSP id) and the digest of a key it sent.
type keyOwner struct {
	requester string
	key       [32]byte
}

// newLiveKeys returns a store of at most capacity keys
// (hepsi.DefaultKeyCacheSize if capacity ≤ 0).
func newLiveKeys(capacity int) *liveKeys {
	if capacity <= 0 {
		capacity = hepsi.DefaultKeyCacheSize
	}
	return &liveKeys{cache: hepsi.NewKeyCache(capacity), capacity: capacity, owners: map[keyOwner]struct{}{}}
}

// resolve returns requester's query q ready to answer: q itself when it
// carries its key, which is kept for the requester's later queries, or q
// with the key it names if this requester sent that key and the cache
// still holds it; otherwise hepsi.ErrUnknownKey.
func (k *liveKeys) resolve(requester string, q *hepsi.Query) (*hepsi.Query, error) {
	o := keyOwner{requester, q.KeyDigest()}
	if q.EvaluationKey() != nil {
		k.remember(o)
		return k.cache.Resolve(q)
	}
	k.mu.Lock()
	_, ok := k.owners[o]
	k.mu.Unlock()
	if !ok {
		return nil, hepsi.ErrUnknownKey
	}
	return k.cache.Resolve(q)
}

// remember records that o's requester sent o's key, forgetting the
// oldest such record beyond capacity.
func (k *liveKeys) remember(o keyOwner) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.owners[o]; ok {
		return
	}
	k.owners[o] = struct{}{}
	k.order = append(k.order, o)
	if len(k.order) > k.capacity {
		delete(k.owners, k.order[0])
		k.order = k.order[1:]
	}
}
