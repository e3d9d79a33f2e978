package hepsi

import (
	"crypto/sha256"
	"fmt"
	"math/bits"
	"slices"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
	"golang.org/x/crypto/cryptobyte"
)

// Wire formats. Every message starts with its version byte; integers are
// big-endian; ring coefficients are packed little-endian in exactly
// bitlen(q) bits for their prime q, padding bits zero, every value below q,
// so that each message has one encoding and its digest is well defined.
// Decoders compute a message's full size from the parameters and the
// header counts and compare it with the input before they allocate.
//
//	Params:  version(1) | LogN u8 | t u64 | nQ u8 | Q u64... | nP u8 | P u64...
//	         | ItemLimbs u16 | LabelSize u8 | Rows u8 | HashCount u8
//	         | MaxBatch u16 | BinCapacity u16 | PSLow u16 | MaxBundles u16
//	Query:   version(1) | params digest [32] | seed [32]
//	         | Rows·len(sources) × c0 (all Q primes, NTT form)
//	         | u32 length | relinearization key (lattigo encoding)
//	       or version(2) | params digest [32] | seed [32]
//	         | Rows·len(sources) × c0 | evaluation key digest [32]
//	         (the key sent before, EvaluationKey)
//	Answer:  version(1) | query digest [32] | per row: u16 bundles
//	         | per bundle: (1 + label parts) × ciphertext at level 0:
//	           scale u32 | c0 | c1
//
// A query's digest is that of its version-2 form whichever form it is sent
// in: a version-1 query is digested with its key's EvaluationKey digest in
// place of the key (queryDigest). So a query sent again carrying the key it
// named (the provider had lost it) is the same query to the provider, and
// the key is bound either way.
const (
	paramsVersion = 1
	// queryVersion carries the relinearization key, queryByKeyVersion
	// names it by its EvaluationKey digest.
	queryVersion      = 1
	queryByKeyVersion = 2
	answerVersion     = 1

	paramsDomain = "riskmesh/hepsi/v1/params\x00"
	queryDomain  = "riskmesh/hepsi/v1/query\x00"
	answerDomain = "riskmesh/hepsi/v1/answer\x00"
)

// Query is a requester's encrypted batch. It is immutable; its encoding is
// computed once.
type Query struct {
	s *scheme
	// seed expands to the uniform halves of the ciphertexts.
	seed [32]byte
	// key is the requester's evaluation key when the query carries it
	// (version 1); byKey queries (version 2) carry only keyDigest, and
	// KeyCache.Resolve sets rlk from the cache.
	key       *EvaluationKey
	byKey     bool
	keyDigest [32]byte
	rlk       *rlwe.RelinearizationKey
	c0        []ring.Poly
	enc       []byte
	digest    [32]byte // queryDigest of enc
}

// KeyDigest names the evaluation key the provider needs to answer the
// query.
func (q *Query) KeyDigest() [32]byte { return q.keyDigest }

// EvaluationKey returns the key a version-1 query carries, for the
// provider's KeyCache, or nil for a query that names its key by digest.
func (q *Query) EvaluationKey() *EvaluationKey { return q.key }

// Params returns the parameters the query was made under.
func (q *Query) Params() Params { return q.s.p }

// Answer is the provider's encrypted reply: per row, per bundle, the
// masked matching ciphertext then the label ciphertexts.
type Answer struct {
	QueryDigest [32]byte
	Rows        [][][]*rlwe.Ciphertext
	s           *scheme
}

// MarshalBinary encodes the parameters.
func (p Params) MarshalBinary() ([]byte, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.encoded), nil
}

// encode writes parameters that newScheme has checked.
func (p Params) encode() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(paramsVersion)
	b.AddUint8(uint8(p.LogN))
	b.AddUint64(p.PlainModulus)
	for _, primes := range [][]uint64{p.Q, p.P} {
		b.AddUint8(uint8(len(primes)))
		for _, q := range primes {
			b.AddUint64(q)
		}
	}
	b.AddUint16(uint16(p.ItemLimbs))
	b.AddUint8(uint8(p.LabelSize))
	b.AddUint8(uint8(p.Rows))
	b.AddUint8(uint8(p.HashCount))
	for _, v := range []int{p.MaxBatch, p.BinCapacity, p.PSLow, p.MaxBundles} {
		b.AddUint16(uint16(v))
	}
	return b.Bytes()
}

// UnmarshalBinary decodes and validates parameters.
func (p *Params) UnmarshalBinary(data []byte) error {
	s := cryptobyte.String(data)
	var version, logN, nq, np, label, rows, hashes uint8
	var t uint64
	if !s.ReadUint8(&version) {
		return ErrMalformed
	}
	if version != paramsVersion {
		return fmt.Errorf("%w: params version %d", ErrVersion, version)
	}
	var out Params
	if !s.ReadUint8(&logN) || !s.ReadUint64(&t) || !s.ReadUint8(&nq) || nq > 8 {
		return ErrMalformed
	}
	out.Q = make([]uint64, nq)
	for i := range out.Q {
		if !s.ReadUint64(&out.Q[i]) {
			return ErrMalformed
		}
	}
	if !s.ReadUint8(&np) || np > 4 {
		return ErrMalformed
	}
	out.P = make([]uint64, np)
	for i := range out.P {
		if !s.ReadUint64(&out.P[i]) {
			return ErrMalformed
		}
	}
	var limbs, batch, capacity, low, bundles uint16
	if !s.ReadUint16(&limbs) || !s.ReadUint8(&label) || !s.ReadUint8(&rows) || !s.ReadUint8(&hashes) ||
		!s.ReadUint16(&batch) || !s.ReadUint16(&capacity) || !s.ReadUint16(&low) || !s.ReadUint16(&bundles) {
		return ErrMalformed
	}
	if !s.Empty() {
		return ErrTrailingData
	}
	out.LogN, out.PlainModulus = int(logN), t
	out.ItemLimbs, out.LabelSize, out.Rows, out.HashCount = int(limbs), int(label), int(rows), int(hashes)
	out.MaxBatch, out.BinCapacity, out.PSLow, out.MaxBundles = int(batch), int(capacity), int(low), int(bundles)
	if err := out.Validate(); err != nil {
		return err
	}
	*p = out
	return nil
}

// Digest is SHA-256 over a domain label and the canonical encoding.
func (p Params) Digest() ([32]byte, error) {
	s, err := p.scheme()
	if err != nil {
		return [32]byte{}, err
	}
	return s.digest, nil
}

// digest is SHA-256 over domain and the concatenation of parts.
func digest(domain string, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	for _, p := range parts {
		h.Write(p)
	}
	return [32]byte(h.Sum(nil))
}

// packedSize is the bytes of n coefficients of bitlen(q) bits.
func packedSize(n int, q uint64) int { return (n*bits.Len64(q) + 7) / 8 }

// pack appends coeffs in bitlen(q) bits each, little-endian, in halves
// of at most 32 bits so the accumulator never overflows.
func pack(b *cryptobyte.Builder, coeffs []uint64, q uint64) {
	w := bits.Len64(q)
	out := make([]byte, 0, packedSize(len(coeffs), q))
	var acc uint64
	n := 0
	put := func(x uint64, k int) {
		acc |= x << n
		for n += k; n >= 8; n -= 8 {
			out = append(out, byte(acc))
			acc >>= 8
		}
	}
	for _, v := range coeffs {
		put(v&(1<<min(w, 32)-1), min(w, 32))
		if w > 32 {
			put(v>>32, w-32)
		}
	}
	if n > 0 {
		out = append(out, byte(acc))
	}
	b.AddBytes(out)
}

// unpack reads len(coeffs) coefficients packed by pack, refusing values
// at or above q and nonzero padding.
func unpack(s *cryptobyte.String, coeffs []uint64, q uint64) bool {
	w := bits.Len64(q)
	var raw []byte
	if !s.ReadBytes(&raw, packedSize(len(coeffs), q)) {
		return false
	}
	var acc uint64
	n, pos := 0, 0
	get := func(k int) uint64 {
		for n < k {
			acc |= uint64(raw[pos]) << n
			pos++
			n += 8
		}
		x := acc & (1<<k - 1)
		acc >>= k
		n -= k
		return x
	}
	for i := range coeffs {
		v := get(min(w, 32))
		if w > 32 {
			v |= get(w-32) << 32
		}
		if v >= q {
			return false
		}
		coeffs[i] = v
	}
	return pos == len(raw) && acc == 0
}

// MarshalBinary returns the query's encoding, which the caller must not
// modify.
func (q *Query) MarshalBinary() ([]byte, error) { return q.enc, nil }

// encode computes the query's encoding once, when it is made.
func (q *Query) encode() error {
	pd := q.s.digest
	_, total := q.s.querySize()
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, total))
	b.AddUint8(q.version())
	b.AddBytes(pd[:])
	b.AddBytes(q.seed[:])
	for _, c0 := range q.c0 {
		for i, coeffs := range c0.Coeffs {
			pack(b, coeffs, q.s.p.Q[i])
		}
	}
	if q.byKey {
		b.AddBytes(q.keyDigest[:])
	} else {
		b.AddUint32(uint32(len(q.key.raw)))
		b.AddBytes(q.key.raw)
	}
	var err error
	if q.enc, err = b.Bytes(); err != nil {
		return err
	}
	q.digest = q.s.queryDigest(q.enc, q.keyDigest)
	return nil
}

// Digest is SHA-256 over a domain label and the query's version-2
// encoding, which names the evaluation key by digest whether or not this
// query carries it: the value a transcript binds.
func (q *Query) Digest() [32]byte { return q.digest }

// queryDigest is the Digest of the query enc under s, a well-sized
// encoding of either version whose evaluation key has digest keyDigest:
// SHA-256 over the domain label, the version-2 byte, enc's parameters'
// digest, seed and ciphertexts, and keyDigest.
func (s *scheme) queryDigest(enc []byte, keyDigest [32]byte) [32]byte {
	body := enc[1 : 1+32+32+s.queryCiphertextBytes()]
	return digest(queryDomain, []byte{queryByKeyVersion}, body, keyDigest[:])
}

func (q *Query) version() uint8 {
	if q.byKey {
		return queryByKeyVersion
	}
	return queryVersion
}

// querySize is the exact encoded size of a version-1 query under s (a
// version-2 query has 32 bytes of key digest instead of the last 4 +
// rlkBytes).
func (s *scheme) querySize() (rlkBytes, total int) {
	rlkBytes = s.rlkBytes()
	total = 1 + 32 + 32 + s.queryCiphertextBytes() + 4 + rlkBytes
	return
}

// queryCiphertextBytes is the size of a query's c0 polynomials under s.
func (s *scheme) queryCiphertextBytes() int {
	ctBytes := 0
	for _, q := range s.p.Q {
		ctBytes += packedSize(s.slots, q)
	}
	return s.p.Rows * len(s.plan.sources) * ctBytes
}

// QueryDigest is the Digest of the query data encodes under p, checking
// only its version and size: a provider finds a query it answered already
// (a lost answer's retry) by a hash of the bytes, without decoding them.
// A version-1 query's key is hashed as the EvaluationKey it carries,
// under p.
func QueryDigest(p Params, data []byte) ([32]byte, error) {
	s, err := p.scheme()
	if err != nil {
		return [32]byte{}, err
	}
	byKey, rlkBytes, err := s.queryShape(data)
	if err != nil {
		return [32]byte{}, err
	}
	var kd [32]byte
	if byKey {
		kd = [32]byte(data[len(data)-32:])
	} else {
		kd = digest(evalKeyDomain, []byte{evalKeyVersion}, s.digest[:], data[len(data)-rlkBytes:])
	}
	return s.queryDigest(data, kd), nil
}

// NamedKey reports the digest of the evaluation key a query that names
// its key (QueryByKeyDigest) names, from its bytes, checking only their
// version and size under p: a provider refuses a key it does not hold
// before it decodes the query. It reports false for a query that carries
// its key.
func NamedKey(p Params, data []byte) ([32]byte, bool, error) {
	s, err := p.scheme()
	if err != nil {
		return [32]byte{}, false, err
	}
	byKey, _, err := s.queryShape(data)
	if err != nil || !byKey {
		return [32]byte{}, false, err
	}
	return [32]byte(data[len(data)-32:]), true, nil
}

// queryShape checks data's version byte and size under s, before anything
// reads or hashes the rest. It reports whether the query names its key by
// digest, and the size of a relinearization key under s.
func (s *scheme) queryShape(data []byte) (byKey bool, rlkBytes int, err error) {
	rlkBytes, total := s.querySize()
	if len(data) == 0 {
		return false, 0, ErrMalformed
	}
	switch data[0] {
	case queryVersion:
	case queryByKeyVersion:
		byKey = true
		total += 32 - 4 - rlkBytes
	default:
		return false, 0, fmt.Errorf("%w: query version %d", ErrVersion, data[0])
	}
	if len(data) != total {
		return false, 0, fmt.Errorf("%w: query of %d bytes, want %d", ErrMalformed, len(data), total)
	}
	return byKey, rlkBytes, nil
}

// DecodeQuery parses a query for parameters p, which the provider chose.
func DecodeQuery(p Params, data []byte) (*Query, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	byKey, rlkBytes, err := s.queryShape(data)
	if err != nil {
		return nil, err
	}
	q := &Query{s: s, enc: data, byKey: byKey}
	in := cryptobyte.String(data[1:])
	var pd, seed []byte
	if !in.ReadBytes(&pd, 32) || !in.ReadBytes(&seed, 32) {
		return nil, ErrMalformed
	}
	if [32]byte(pd) != s.digest {
		return nil, fmt.Errorf("%w: query under other parameters", ErrMismatch)
	}
	q.seed = [32]byte(seed)
	ringQ := s.bgv.RingQ().AtLevel(s.bgv.MaxLevel())
	for range s.p.Rows * len(s.plan.sources) {
		c0 := ringQ.NewPoly()
		for i := range c0.Coeffs {
			if !unpack(&in, c0.Coeffs[i], p.Q[i]) {
				return nil, fmt.Errorf("%w: query ciphertext", ErrMalformed)
			}
		}
		q.c0 = append(q.c0, c0)
	}
	if q.byKey {
		var kd []byte
		if !in.ReadBytes(&kd, 32) || !in.Empty() {
			return nil, ErrMalformed
		}
		q.keyDigest = [32]byte(kd)
		q.digest = s.queryDigest(data, q.keyDigest)
		return q, nil
	}
	var n uint32
	var raw []byte
	if !in.ReadUint32(&n) || int(n) != rlkBytes || !in.ReadBytes(&raw, int(n)) {
		return nil, fmt.Errorf("%w: relinearization key", ErrMalformed)
	}
	if !in.Empty() {
		return nil, ErrTrailingData
	}
	rlk, err := s.decodeRelinKey(raw)
	if err != nil {
		return nil, err
	}
	if q.key, err = s.newEvaluationKey(rlk, raw); err != nil {
		return nil, err
	}
	q.keyDigest = q.key.digest
	q.digest = s.queryDigest(data, q.keyDigest)
	return q, nil
}

// ctSize is the encoded size of one answer ciphertext.
func (s *scheme) ctSize() int { return 4 + 2*packedSize(s.slots, s.p.Q[0]) }

// MarshalBinary encodes the answer.
func (a *Answer) MarshalBinary() ([]byte, error) {
	size := 1 + 32
	for _, row := range a.Rows {
		size += 2
		for _, cts := range row {
			size += len(cts) * a.s.ctSize()
		}
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, size))
	b.AddUint8(answerVersion)
	b.AddBytes(a.QueryDigest[:])
	for _, row := range a.Rows {
		b.AddUint16(uint16(len(row)))
		for _, cts := range row {
			for _, ct := range cts {
				if ct.Level() != 0 || ct.Degree() != 1 {
					return nil, fmt.Errorf("%w: answer ciphertext at level %d degree %d", ErrMalformed, ct.Level(), ct.Degree())
				}
				b.AddUint32(uint32(ct.Scale.Uint64()))
				modulus := a.s.p.Q[0]
				pack(b, ct.Value[0].Coeffs[0], modulus)
				pack(b, ct.Value[1].Coeffs[0], modulus)
			}
		}
	}
	return b.Bytes()
}

// Digest is SHA-256 over a domain label and the canonical encoding.
func (a *Answer) Digest() ([32]byte, error) {
	enc, err := a.MarshalBinary()
	if err != nil {
		return [32]byte{}, err
	}
	return digest(answerDomain, enc), nil
}

// DecodeAnswer parses an answer under parameters p. It checks that each
// row's bundles are all present in the input before allocating them.
func DecodeAnswer(p Params, data []byte) (*Answer, error) {
	s, err := p.scheme()
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(data)
	var version uint8
	var qd []byte
	if !in.ReadUint8(&version) {
		return nil, ErrMalformed
	}
	if version != answerVersion {
		return nil, fmt.Errorf("%w: answer version %d", ErrVersion, version)
	}
	if !in.ReadBytes(&qd, 32) {
		return nil, ErrMalformed
	}
	a := &Answer{QueryDigest: [32]byte(qd), Rows: make([][][]*rlwe.Ciphertext, p.Rows), s: s}
	perBundle := (1 + s.labelParts) * s.ctSize()
	for r := range a.Rows {
		var nb uint16
		if !in.ReadUint16(&nb) {
			return nil, ErrMalformed
		}
		if int(nb) > p.MaxBundles {
			return nil, fmt.Errorf("%w: %d bundles in a row, at most %d", ErrLimit, nb, p.MaxBundles)
		}
		if len(in) < int(nb)*perBundle {
			return nil, fmt.Errorf("%w: answer truncated", ErrMalformed)
		}
		a.Rows[r] = make([][]*rlwe.Ciphertext, nb)
		for k := range a.Rows[r] {
			for range 1 + s.labelParts {
				ct, err := s.readCiphertext(&in)
				if err != nil {
					return nil, err
				}
				a.Rows[r][k] = append(a.Rows[r][k], ct)
			}
		}
	}
	if !in.Empty() {
		return nil, ErrTrailingData
	}
	return a, nil
}

func (s *scheme) readCiphertext(in *cryptobyte.String) (*rlwe.Ciphertext, error) {
	var scale uint32
	if !in.ReadUint32(&scale) || scale == 0 || uint64(scale) >= s.p.PlainModulus {
		return nil, fmt.Errorf("%w: answer ciphertext scale", ErrMalformed)
	}
	ct := bgv.NewCiphertext(s.bgv, 1, 0)
	ct.Scale = s.bgv.NewScale(uint64(scale))
	for _, poly := range ct.Value {
		if !unpack(in, poly.Coeffs[0], s.p.Q[0]) {
			return nil, fmt.Errorf("%w: answer ciphertext", ErrMalformed)
		}
	}
	return ct, nil
}
