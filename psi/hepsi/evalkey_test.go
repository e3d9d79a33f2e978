package hepsi

import (
	"bytes"
	"errors"
	"testing"
)

// answerVia decodes a query's encoding as the provider receives it,
// resolves its key through the cache (which keeps a key the query
// carries) and answers; the results are checked by the caller.
func answerVia(t testing.TB, db *Database, cache *KeyCache, q *Query) (*Answer, error) {
	t.Helper()
	qb, err := q.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dq, err := DecodeQuery(db.Params(), qb)
	if err != nil {
		t.Fatal(err)
	}
	rq, err := cache.Resolve("requester", dq)
	if err != nil {
		return nil, err
	}
	return db.Answer(nil, rq)
}

// checkVia answers q through the cache and checks the results against the
// plain intersection.
func checkVia(t testing.TB, db *Database, cache *KeyCache, q *Query, st *QueryState, batch [][]byte, listed map[string][]byte) {
	t.Helper()
	a, err := answerVia(t, db, cache, q)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Results(a)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstPlain(t, res, batch, listed)
}

// A requester sends its evaluation key once, in its first query, and names
// it by digest afterwards: the later queries are smaller by the key and
// answered exactly as before; a provider that does not hold the key says
// so (ErrUnknownKey) and answers once the key is sent on its own.
func TestKeyReuse(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 2000, MinItemSize)
	db, r, listed := listedDB(t, p, items, randomItems(t, len(items), 16))
	batch := append(randomItems(t, 30, MinItemSize), items[:30]...)
	cache := NewKeyCache(0)

	t.Run("first query carries the key", func(t *testing.T) {
		q, st, err := r.Query(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		checkVia(t, db, cache, q, st, batch, listed)
		if cache.Len() != 1 {
			t.Fatalf("cache holds %d keys after the first query, want 1", cache.Len())
		}
	})
	t.Run("later queries name it", func(t *testing.T) {
		full, _, err := r.Query(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		q, st, err := r.QueryByKeyDigest(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := full.MarshalBinary()
		qb, _ := q.MarshalBinary()
		rlkBytes, _ := db.s.querySize()
		if len(fb)-len(qb) != rlkBytes+4-32 {
			t.Fatalf("query by digest is %d bytes smaller, want %d", len(fb)-len(qb), rlkBytes+4-32)
		}
		if q.KeyDigest() != r.EvaluationKey().Digest() || q.EvaluationKey() != nil {
			t.Fatal("query by digest does not name exactly the requester's key")
		}
		checkVia(t, db, cache, q, st, batch, listed)
	})
	t.Run("unknown key", func(t *testing.T) {
		fresh := NewKeyCache(0)
		q, st, err := r.QueryByKeyDigest(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := answerVia(t, db, fresh, q); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("query naming an unknown key: %v, want ErrUnknownKey", err)
		}
		if _, err := db.Answer(nil, q); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("answering an unresolved query: %v, want ErrUnknownKey", err)
		}
		kb, _ := r.EvaluationKey().MarshalBinary()
		k, err := DecodeEvaluationKey(p, kb)
		if err != nil {
			t.Fatal(err)
		}
		fresh.Add("requester", k)
		checkVia(t, db, fresh, q, st, batch, listed)
	})
	t.Run("the same query carrying the key", func(t *testing.T) {
		// A provider that lost the key after it took a query knows the
		// query again by its digest when it comes carrying the key.
		q, st, err := r.QueryByKeyDigest(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		withKey, err := st.QueryWithKey()
		if err != nil {
			t.Fatal(err)
		}
		qb, _ := q.MarshalBinary()
		wb, _ := withKey.MarshalBinary()
		if wb[0] != queryVersion || withKey.EvaluationKey() != r.EvaluationKey() || !bytes.Equal(wb[1:len(qb)-32], qb[1:len(qb)-32]) {
			t.Fatal("the query carrying its key is not the same ciphertexts with the key")
		}
		for _, enc := range [][]byte{qb, wb} {
			if d, err := QueryDigest(p, enc); err != nil || d != q.Digest() {
				t.Fatalf("QueryDigest of the version-%d form: %x (%v), want the query's digest %x", enc[0], d, err, q.Digest())
			}
		}
		// NamedKey reads the key a query names from its bytes; a query
		// carrying its key names none, and a cut one is refused.
		if kd, byKey, err := NamedKey(p, qb); err != nil || !byKey || kd != r.EvaluationKey().Digest() {
			t.Fatalf("NamedKey of the query naming its key: %x, %v, %v; want the key's digest", kd, byKey, err)
		}
		if _, byKey, err := NamedKey(p, wb); err != nil || byKey {
			t.Fatalf("NamedKey of the query carrying its key: %v, %v; want no name", byKey, err)
		}
		if _, _, err := NamedKey(p, qb[:len(qb)-1]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("NamedKey of a cut query: %v, want ErrMalformed", err)
		}
		held := NewKeyCache(4)
		if held.Holds("requester", r.EvaluationKey().Digest()) {
			t.Fatal("an empty cache holds the key")
		}
		held.Add("requester", r.EvaluationKey())
		if !held.Holds("requester", r.EvaluationKey().Digest()) || held.Holds("another", r.EvaluationKey().Digest()) {
			t.Fatal("Holds does not answer for the key's owner only")
		}
		if withKey.Digest() != q.Digest() {
			t.Fatal("the query carrying its key has another digest")
		}
		if again, err := st.QueryWithKey(); err != nil || again.Digest() != q.Digest() {
			t.Fatal("QueryWithKey is not repeatable")
		}
		checkVia(t, db, NewKeyCache(0), withKey, st, batch, listed)
		// Other ciphertexts under the same key are another query.
		other, _, err := r.Query(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		if other.KeyDigest() != q.KeyDigest() || other.Digest() == q.Digest() {
			t.Fatal("another query under the same key has the same digest")
		}
	})
}

// The cache keeps at most its capacity and evicts the least recently
// used key of the owners holding the most: with one owner, one key just
// used survives and the oldest goes.
func TestKeyCacheEviction(t *testing.T) {
	keys := newKeys(t, 3)
	cache := NewKeyCache(2)
	cache.Add("a", keys[0])
	cache.Add("a", keys[1])
	if _, err := cache.Resolve("a", namedKey(keys[0])); err != nil {
		t.Fatal(err)
	}
	cache.Add("a", keys[2])
	if cache.Len() != 2 {
		t.Fatalf("cache of capacity 2 holds %d keys", cache.Len())
	}
	for i, want := range []error{nil, ErrUnknownKey, nil} {
		rq, err := cache.Resolve("a", namedKey(keys[i]))
		if !errors.Is(err, want) {
			t.Fatalf("key %d: %v, want %v", i, err, want)
		}
		if err == nil && rq.rlk != keys[i].rlk {
			t.Fatalf("key %d resolved to another key", i)
		}
	}
}

// newKeys returns n evaluation keys of distinct requesters.
func newKeys(t testing.TB, n int) []*EvaluationKey {
	t.Helper()
	p := testParams(t, 0)
	keys := make([]*EvaluationKey, n)
	for i := range keys {
		r, err := NewRequester(p)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = r.EvaluationKey()
	}
	return keys
}

// namedKey is a version-2 query naming k.
func namedKey(k *EvaluationKey) *Query { return &Query{s: k.s, byKey: true, keyDigest: k.Digest()} }

// TestAdversaryKeyCacheFlood plays a member that sends keys in a loop
// (each upload is cheap for it and unbilled): the cache never holds more
// than its capacity, and the flood evicts at most one key of the honest
// owners, each holding no more than its share, however long it goes on;
// once the flooder holds the most keys it only evicts its own. A key the
// flooder sent under another owner's digest is never that owner's key.
func TestAdversaryKeyCacheFlood(t *testing.T) {
	honest := []string{"bank-a", "bank-b", "bank-c"}
	keys := newKeys(t, len(honest)+4)
	cache := NewKeyCache(len(honest) + 1)
	for i, o := range honest {
		cache.Add(o, keys[i])
	}
	flood := keys[len(honest):]
	for round := range 50 {
		cache.Add("flooder", flood[round%len(flood)])
		if cache.Len() > len(honest)+1 {
			t.Fatalf("round %d: cache holds %d keys, capacity %d", round, cache.Len(), len(honest)+1)
		}
	}
	kept := 0
	for i, o := range honest {
		if _, err := cache.Resolve(o, namedKey(keys[i])); err == nil {
			kept++
		}
	}
	// The cache had room for one more key: the flood takes it, then
	// evicts only its own.
	if kept != len(honest) {
		t.Fatalf("%d of %d honest keys kept after the flood, want all", kept, len(honest))
	}
	// A full cache of honest owners: the flood costs them one key in all.
	full := NewKeyCache(len(honest))
	for i, o := range honest {
		full.Add(o, keys[i])
	}
	for round := range 50 {
		full.Add("flooder", flood[round%len(flood)])
	}
	kept = 0
	for i, o := range honest {
		if _, err := full.Resolve(o, namedKey(keys[i])); err == nil {
			kept++
		}
	}
	if kept != len(honest)-1 {
		t.Fatalf("%d of %d honest keys kept in a full cache after the flood, want all but one", kept, len(honest))
	}
	// The flooder cannot claim an honest owner's key by naming it.
	if _, err := full.Resolve("flooder", namedKey(keys[len(honest)-1])); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("another owner's key resolved for the flooder: %v", err)
	}
}

// TestAdversaryForeignKeyDigest plays a requester that names another
// requester's cached key instead of sending its own. The cache refuses it
// (ErrUnknownKey, as for a key nobody sent); were it answered under that
// key, as a cache that resolved any digest would, the answer matches no
// secret of the thief's, so it learns nothing (no item decrypts as
// found), and the other requester's queries are answered as before.
// node/provider's TestAdversaryLiveForeignKeyDigest plays it over QUIC.
func TestAdversaryForeignKeyDigest(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 500, MinItemSize)
	db, honest, listed := listedDB(t, p, items, randomItems(t, len(items), 16))
	thief, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewKeyCache(0)
	cache.Add("requester", honest.EvaluationKey())
	batch := items[:40]

	q, st, err := thief.QueryByKeyDigest(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	forged := *q
	forged.keyDigest = honest.EvaluationKey().Digest()
	if err := forged.encode(); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Resolve("thief", &forged); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("another owner's key resolved for the thief: %v", err)
	}
	// As a cache without owners would: answered under the honest key.
	a, err := answerVia(t, db, cache, &forged)
	if err != nil {
		t.Fatal(err)
	}
	// The answer names the forged query, so the thief's state refuses it;
	// decrypting it anyway shows nothing.
	if _, err := st.Results(a); !errors.Is(err, ErrMismatch) {
		t.Fatalf("answer to the forged query: %v, want ErrMismatch", err)
	}
	st.query = &forged
	res, err := st.Results(a)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Found {
			t.Fatalf("item %d decrypted as found under a foreign key", i)
		}
	}

	hq, hst, err := honest.QueryByKeyDigest(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	checkVia(t, db, cache, hq, hst, batch, listed)
}

// Evaluation keys and queries by digest are refused unless they have
// exactly the announced shape.
func TestDecodeEvaluationKeyErrors(t *testing.T) {
	p := testParams(t, 16)
	other := testParams(t, 0)
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := r.EvaluationKey().MarshalBinary()
	q, _, err := r.QueryByKeyDigest(nil, randomItems(t, 2, MinItemSize))
	if err != nil {
		t.Fatal(err)
	}
	qb, _ := q.MarshalBinary()
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"key truncated", func() error { _, err := DecodeEvaluationKey(p, kb[:len(kb)-1]); return err }, ErrMalformed},
		{"key with trailing byte", func() error { _, err := DecodeEvaluationKey(p, append(bytes.Clone(kb), 0)); return err }, ErrMalformed},
		{"key version", func() error { _, err := DecodeEvaluationKey(p, append([]byte{2}, kb[1:]...)); return err }, ErrVersion},
		{"key under other parameters", func() error { _, err := DecodeEvaluationKey(other, kb); return err }, ErrMismatch},
		{"key for other parameters' digest", func() error {
			bad := bytes.Clone(kb)
			bad[5] ^= 1
			_, err := DecodeEvaluationKey(p, bad)
			return err
		}, ErrMismatch},
		{"query by digest truncated", func() error { _, err := DecodeQuery(p, qb[:len(qb)-1]); return err }, ErrMalformed},
		{"query by digest with trailing byte", func() error { _, err := DecodeQuery(p, append(bytes.Clone(qb), 0)); return err }, ErrMalformed},
		{"query version 3", func() error { _, err := DecodeQuery(p, append([]byte{3}, qb[1:]...)); return err }, ErrVersion},
		{"empty query", func() error { _, err := DecodeQuery(p, nil); return err }, ErrMalformed},
		{"query digest of a truncated query", func() error { _, err := QueryDigest(p, qb[:len(qb)-1]); return err }, ErrMalformed},
		{"query digest of version 3", func() error { _, err := QueryDigest(p, append([]byte{3}, qb[1:]...)); return err }, ErrVersion},
		{"query digest of nothing", func() error { _, err := QueryDigest(p, nil); return err }, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.do(); !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
	k, err := DecodeEvaluationKey(p, kb)
	if err != nil {
		t.Fatal(err)
	}
	if k.Digest() != r.EvaluationKey().Digest() {
		t.Fatal("decoded key has another digest")
	}
	// A provider finds a retried query by QueryDigest over its bytes: it
	// must be the digest the decoded query binds.
	for _, q := range []*Query{q, mustQuery(t, r)} {
		enc, _ := q.MarshalBinary()
		d, err := QueryDigest(p, enc)
		if err != nil {
			t.Fatal(err)
		}
		if d != q.Digest() {
			t.Fatalf("QueryDigest of a version-%d query differs from its Digest", enc[0])
		}
	}
}

// mustQuery is a query of r carrying its key.
func mustQuery(t *testing.T, r *Requester) *Query {
	t.Helper()
	q, _, err := r.Query(nil, randomItems(t, 2, MinItemSize))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// FuzzDecodeEvaluationKey mutates a real key: whatever decodes must
// re-encode to the same bytes.
func FuzzDecodeEvaluationKey(f *testing.F) {
	p := testParams(f, 16)
	r, err := NewRequester(p)
	if err != nil {
		f.Fatal(err)
	}
	kb, _ := r.EvaluationKey().MarshalBinary()
	f.Add(kb)
	f.Add(kb[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := DecodeEvaluationKey(p, data)
		if err != nil {
			return
		}
		again, err := k.s.newEvaluationKey(k.rlk, k.raw)
		if err != nil {
			t.Fatalf("decoded key does not encode: %v", err)
		}
		if !bytes.Equal(again.enc, data) || again.digest != k.digest {
			t.Fatal("accepted a non-canonical evaluation key")
		}
	})
}
