package hepsi

import (
	"bytes"
	"container/list"
	"fmt"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"golang.org/x/crypto/cryptobyte"
)

// EvaluationKey is a requester's relinearization key for one Params: 1.57 MB
// at the presets, most of a query's upload. A requester sends it once (as
// this message, or inside a version-1 query) and names it by its digest in
// later queries (QueryByKeyDigest); the provider keeps recent keys in a
// KeyCache. The key is public material: it reveals nothing of the secret
// key beyond the RLWE assumption the ciphertexts already rest on, and a
// party naming someone else's key only gets garbage answers for itself.
//
//	EvaluationKey: version(1) | params digest [32] | relinearization key
//	               (lattigo's encoding, fixed size for the parameters)
//	Digest:        SHA-256("riskmesh/hepsi/v1/evaluation-key\0" || encoding)
type EvaluationKey struct {
	s      *scheme
	rlk    *rlwe.RelinearizationKey
	raw    []byte // lattigo's encoding of rlk
	enc    []byte
	digest [32]byte
}

const (
	evalKeyVersion = 1
	evalKeyDomain  = "riskmesh/hepsi/v1/evaluation-key\x00"
	// DefaultKeyCacheSize is how many evaluation keys a KeyCache made with
	// capacity 0 keeps: about 64 × 1.6 MB at the presets.
	DefaultKeyCacheSize = 64
)

func (s *scheme) newEvaluationKey(rlk *rlwe.RelinearizationKey, raw []byte) (*EvaluationKey, error) {
	var b cryptobyte.Builder
	b.AddUint8(evalKeyVersion)
	b.AddBytes(s.digest[:])
	b.AddBytes(raw)
	enc, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("hepsi: encode evaluation key: %w", err)
	}
	return &EvaluationKey{s: s, rlk: rlk, raw: raw, enc: enc, digest: digest(evalKeyDomain, enc)}, nil
}

// Digest names the key in queries that do not carry it.
func (k *EvaluationKey) Digest() [32]byte { return k.digest }

// Params returns the parameters the key belongs to.
func (k *EvaluationKey) Params() Params { return k.s.p }

// MarshalBinary returns the key's encoding, which the caller must not
// modify.
func (k *EvaluationKey) MarshalBinary() ([]byte, error) { return k.enc, nil }

// DecodeEvaluationKey parses an evaluation key for parameters p. The input
// must have exactly the size the parameters imply, and lattigo's encoding
// must be canonical (it re-encodes to the same bytes).
func DecodeEvaluationKey(p Params, data []byte) (*EvaluationKey, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	rlkBytes, _ := s.querySize()
	if len(data) != 1+32+rlkBytes {
		return nil, fmt.Errorf("%w: evaluation key of %d bytes, want %d", ErrMalformed, len(data), 1+32+rlkBytes)
	}
	if data[0] != evalKeyVersion {
		return nil, fmt.Errorf("%w: evaluation key version %d", ErrVersion, data[0])
	}
	if [32]byte(data[1:33]) != s.digest {
		return nil, fmt.Errorf("%w: evaluation key under other parameters", ErrMismatch)
	}
	raw := data[33:]
	rlk, err := s.decodeRelinKey(raw)
	if err != nil {
		return nil, err
	}
	return &EvaluationKey{s: s, rlk: rlk, raw: raw, enc: data, digest: digest(evalKeyDomain, data)}, nil
}

// decodeRelinKey parses lattigo's encoding of a relinearization key and
// insists that it is canonical.
func (s *scheme) decodeRelinKey(raw []byte) (*rlwe.RelinearizationKey, error) {
	rlk := rlwe.NewRelinearizationKey(s.bgv)
	if err := rlk.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: relinearization key: %v", ErrMalformed, err)
	}
	if again, err := rlk.MarshalBinary(); err != nil || !bytes.Equal(again, raw) {
		return nil, fmt.Errorf("%w: relinearization key is not canonical", ErrMalformed)
	}
	return rlk, nil
}

// KeyCache is the provider's bounded store of requesters' evaluation keys.
// Every key is held for the owner that sent it (the requester's
// authenticated identity) and resolved only for that owner: a member naming
// another's key gets ErrUnknownKey, as for a key nobody sent, so it can
// neither have its queries evaluated under that key nor learn whether its
// owner queried recently (docs/protocol/hepsi.md section 9, "Keys").
//
// When full, it evicts the least recently used key among the owners that
// hold the most keys. A member that floods it with keys therefore evicts
// its own keys once it holds more than anyone else: it costs each other
// owner at most one resend (ErrUnknownKey), and an owner holding no more
// keys than the others loses none to it. Safe for concurrent use.
type KeyCache struct {
	mu       sync.Mutex
	capacity int
	byOwner  map[ownedKey]*list.Element
	held     map[string]int // keys per owner
	order    *list.List     // of cachedKey, most recently used first
}

// ownedKey names a key as one owner sent it.
type ownedKey struct {
	owner  string
	digest [32]byte
}

// cachedKey keeps only what answering needs, not the key's encodings (nor
// the query a version-1 key was read from).
type cachedKey struct {
	ownedKey
	params [32]byte
	rlk    *rlwe.RelinearizationKey
}

// NewKeyCache returns a cache of at most capacity keys
// (DefaultKeyCacheSize if capacity ≤ 0).
func NewKeyCache(capacity int) *KeyCache {
	if capacity <= 0 {
		capacity = DefaultKeyCacheSize
	}
	return &KeyCache{capacity: capacity, byOwner: map[ownedKey]*list.Element{}, held: map[string]int{}, order: list.New()}
}

// Add stores k (a decoded EvaluationKey, or a version-1 query's
// Query.EvaluationKey) for owner, evicting a key of the owners holding
// the most if the cache is full.
func (c *KeyCache) Add(owner string, k *EvaluationKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := ownedKey{owner, k.digest}
	if e, ok := c.byOwner[id]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byOwner[id] = c.order.PushFront(cachedKey{ownedKey: id, params: k.s.digest, rlk: k.rlk})
	c.held[owner]++
	if c.order.Len() > c.capacity {
		c.evict()
	}
}

// evict drops the least recently used key of the owners holding the most.
// The key just added is the most recently used, so it goes only if its
// owner holds all the keys.
func (c *KeyCache) evict() {
	most := 0
	for _, n := range c.held {
		most = max(most, n)
	}
	for e := c.order.Back(); e != nil; e = e.Prev() {
		k := e.Value.(cachedKey)
		if c.held[k.owner] != most {
			continue
		}
		c.order.Remove(e)
		delete(c.byOwner, k.ownedKey)
		if c.held[k.owner]--; c.held[k.owner] == 0 {
			delete(c.held, k.owner)
		}
		return
	}
}

// Len returns the number of keys held.
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Holds reports whether owner's key of digest keyDigest is held, without
// touching its place in the eviction order: Resolve, which follows when
// the query is answered, does that.
func (c *KeyCache) Holds(owner string, keyDigest [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byOwner[ownedKey{owner, keyDigest}]
	return ok
}

// Resolve returns owner's query q ready to answer: q itself when it
// carries its key (version 1), which it keeps for owner's later queries,
// or a copy holding the key q names if owner sent it and it is still
// held, or ErrUnknownKey, on which the requester sends the key again.
func (c *KeyCache) Resolve(owner string, q *Query) (*Query, error) {
	if q.key != nil {
		c.Add(owner, q.key)
		return q, nil
	}
	if q.rlk != nil {
		return q, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byOwner[ownedKey{owner, q.keyDigest}]
	if !ok {
		return nil, ErrUnknownKey
	}
	k := e.Value.(cachedKey)
	if k.params != q.s.digest {
		return nil, fmt.Errorf("%w: evaluation key under other parameters", ErrMismatch)
	}
	c.order.MoveToFront(e)
	resolved := *q
	resolved.rlk = k.rlk
	return &resolved, nil
}
