package hepsi

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// Requester holds one BGV secret key and its relinearization key for
// queries under one Params. The secret key never leaves it.
type Requester struct {
	s   *scheme
	sk  *rlwe.SecretKey
	key *EvaluationKey
}

// NewRequester generates a secret key and its relinearization key for p.
// Lattigo draws the secret key and encryption noise from crypto/rand
// itself.
func NewRequester(p Params) (*Requester, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	kgen := rlwe.NewKeyGenerator(s.bgv)
	sk := kgen.GenSecretKeyNew()
	rlk := kgen.GenRelinearizationKeyNew(sk)
	raw, err := rlk.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("hepsi: encode relinearization key: %w", err)
	}
	key, err := s.newEvaluationKey(rlk, raw)
	if err != nil {
		return nil, err
	}
	return &Requester{s: s, sk: sk, key: key}, nil
}

// EvaluationKey returns the requester's evaluation key, to send once to a
// provider before queries that name it (QueryByKeyDigest).
func (r *Requester) EvaluationKey() *EvaluationKey { return r.key }

// QueryState is what the requester keeps between its query and the
// provider's answer.
type QueryState struct {
	r     *Requester
	items [][]byte // the batch as given
	// uniq are the distinct items; index maps each batch item to its
	// distinct item; bin is each distinct item's table bin.
	uniq  [][]byte
	index []int
	bin   []int
	query *Query
}

// Result is the answer for one item of the batch.
type Result struct {
	Found bool
	// Label is the provider's label for a found item (LabelSize bytes).
	Label []byte
}

// QueryByKeyDigest is Query without the evaluation key: the query names it
// by digest (version 2), 1.57 MB smaller at the presets. The provider
// answers it only while its KeyCache holds the key; on ErrUnknownKey the
// requester sends the key (EvaluationKey, or a version-1 Query) again.
func (r *Requester) QueryByKeyDigest(rnd io.Reader, items [][]byte) (*Query, *QueryState, error) {
	return r.query(rnd, items, true)
}

// Query encrypts a batch of PRF outputs (32 to 64 bytes each; repeats allowed).
// For each table row and each source power p of the plan it sends one
// ciphertext whose slots hold the p-th powers of the limbs of the item
// cuckoo-hashed into each bin; the uniform halves of those ciphertexts are
// expanded from one 32-byte seed instead of being sent. rnd (nil:
// crypto/rand) supplies that seed and the cuckoo walk.
//
// The query carries the requester's evaluation key (version 1), which the
// provider may cache for later QueryByKeyDigest queries.
func (r *Requester) Query(rnd io.Reader, items [][]byte) (*Query, *QueryState, error) {
	return r.query(rnd, items, false)
}

func (r *Requester) query(rnd io.Reader, items [][]byte, byKey bool) (*Query, *QueryState, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	s := r.s
	if len(items) < 1 || len(items) > s.p.MaxBatch {
		return nil, nil, fmt.Errorf("%w: %d items, allowed 1 to %d", ErrBatch, len(items), s.p.MaxBatch)
	}
	st := &QueryState{r: r, items: items, index: make([]int, len(items))}
	pos := map[string]int{}
	var exp []expanded
	for i, it := range items {
		if len(it) < MinItemSize || len(it) > MaxItemSize {
			return nil, nil, fmt.Errorf("%w: item %d has %d bytes", ErrItem, i, len(it))
		}
		k := string(it)
		j, ok := pos[k]
		if !ok {
			j = len(st.uniq)
			pos[k] = j
			st.uniq = append(st.uniq, it)
			exp = append(exp, s.expand(it, make([]uint64, s.p.ItemLimbs)))
		}
		st.index[i] = j
	}
	table, err := s.cuckoo(exp, rnd)
	if err != nil {
		return nil, nil, err
	}
	st.bin = make([]int, len(st.uniq))
	for b, j := range table {
		if j >= 0 {
			st.bin[j] = b
		}
	}
	q := &Query{s: s, byKey: byKey, keyDigest: r.key.digest}
	if !byKey {
		q.key = r.key
	}
	if _, err := io.ReadFull(rnd, q.seed[:]); err != nil {
		return nil, nil, fmt.Errorf("hepsi: read randomness: %w", err)
	}
	enc := rlwe.NewEncryptor(s.bgv, r.sk)
	ecd := bgv.NewEncoder(s.bgv)
	top := s.bgv.MaxLevel()
	slots := make([]uint64, s.slots)
	for row := 0; row < s.p.Rows; row++ {
		for _, p := range s.plan.sources {
			clear(slots)
			for b := 0; b < s.binsPerRow; b++ {
				j := table[row*s.binsPerRow+b]
				if j < 0 {
					continue
				}
				for l, limb := range exp[j].limbs {
					slots[b*s.p.ItemLimbs+l] = s.t.pow(limb, uint64(p))
				}
			}
			pt := bgv.NewPlaintext(s.bgv, top)
			if err := ecd.Encode(slots, pt); err != nil {
				return nil, nil, fmt.Errorf("hepsi: encode: %w", err)
			}
			prng, err := ciphertextPRNG(q.seed, len(q.c0))
			if err != nil {
				return nil, nil, err
			}
			ct := bgv.NewCiphertext(s.bgv, 1, top)
			if err := enc.WithPRNG(prng).Encrypt(pt, ct); err != nil {
				return nil, nil, fmt.Errorf("hepsi: encrypt: %w", err)
			}
			q.c0 = append(q.c0, ct.Value[0])
		}
	}
	if err := q.encode(); err != nil {
		return nil, nil, err
	}
	st.query = q
	return q, st, nil
}

// QueryWithKey returns this state's query carrying the requester's
// evaluation key (version 1): the same ciphertexts and the same Digest,
// answered by the same answer. A requester sends it when the provider no
// longer holds the key its version-2 query named (ErrUnknownKey): a
// provider that took the query before it lost the key knows this one as
// the same query, where a query encrypted afresh would be another.
func (st *QueryState) QueryWithKey() (*Query, error) {
	if !st.query.byKey {
		return st.query, nil
	}
	q := *st.query
	q.byKey, q.key = false, st.r.key
	if err := q.encode(); err != nil {
		return nil, err
	}
	return &q, nil
}

// Results decrypts the answer to this state's query: one Result per item
// of the batch, in order. An answer to another query is refused.
func (st *QueryState) Results(a *Answer) ([]Result, error) {
	s := st.r.s
	if a.s == nil || a.s.digest != s.digest {
		return nil, fmt.Errorf("%w: answer decoded under other parameters", ErrMismatch)
	}
	if a.QueryDigest != st.query.Digest() || len(a.Rows) != s.p.Rows {
		return nil, fmt.Errorf("%w: answer is not for this query", ErrMismatch)
	}
	dec := rlwe.NewDecryptor(s.bgv, st.r.sk)
	ecd := bgv.NewEncoder(s.bgv)
	uniq := make([]Result, len(st.uniq))
	limbs := s.p.ItemLimbs
	vals := make([]uint64, s.slots)
	for row, bundles := range a.Rows {
		for _, cts := range bundles {
			slots := make([][]uint64, len(cts))
			for k, ct := range cts {
				pt := dec.DecryptNew(ct)
				if err := ecd.Decode(pt, vals); err != nil {
					return nil, fmt.Errorf("hepsi: decode answer: %w", err)
				}
				slots[k] = append([]uint64(nil), vals...)
			}
			for j, b := range st.bin {
				if uniq[j].Found || b/s.binsPerRow != row {
					continue
				}
				base := (b % s.binsPerRow) * limbs
				if !allZero(slots[0][base : base+limbs]) {
					continue
				}
				felts := make([]uint64, 0, limbs*s.labelParts)
				for part := 1; part < len(slots); part++ {
					felts = append(felts, slots[part][base:base+limbs]...)
				}
				uniq[j] = Result{Found: true, Label: s.labelBytes(st.uniq[j], felts)}
			}
		}
	}
	out := make([]Result, len(st.items))
	for i, j := range st.index {
		out[i] = uniq[j]
		if out[i].Label != nil {
			out[i].Label = append([]byte(nil), out[i].Label...)
		}
	}
	return out, nil
}

func allZero(v []uint64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// ciphertextPRNG is the stream the uniform half of query ciphertext k is
// drawn from: BLAKE2b keyed with the seed and k, fresh for every
// ciphertext so both sides read it from its start.
func ciphertextPRNG(seed [32]byte, k int) (*sampling.KeyedPRNG, error) {
	key := binary.BigEndian.AppendUint32(seed[:], uint32(k))
	prng, err := sampling.NewKeyedPRNG(key)
	if err != nil {
		return nil, fmt.Errorf("hepsi: seed: %w", err)
	}
	return prng, nil
}

// expandC1 regenerates the uniform halves of a query's ciphertexts from its
// seed, as the requester's encryptor drew them.
func (s *scheme) expandC1(seed [32]byte, count int) ([]ring.Poly, error) {
	ringQ := s.bgv.RingQ().AtLevel(s.bgv.MaxLevel())
	out := make([]ring.Poly, count)
	for k := range out {
		prng, err := ciphertextPRNG(seed, k)
		if err != nil {
			return nil, err
		}
		out[k] = ringQ.NewPoly()
		ring.NewUniformSampler(prng, ringQ).Read(out[k])
	}
	return out, nil
}
