package hepsi

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
)

// Params is everything both sides must agree on: the BGV ring, how items
// and labels become plaintext-field elements, the hash table and the shape
// of the provider's polynomials. The provider announces it and a requester
// refuses any set that fails Validate, so a dishonest provider cannot make a
// requester encrypt under an insecure ring. docs/protocol/hepsi.md explains
// every choice.
type Params struct {
	// LogN is log2 of the ring degree N; the ciphertexts have N slots.
	LogN int
	// PlainModulus is the BGV plaintext modulus t: a prime with t = 1 mod 2N.
	PlainModulus uint64
	// Q is the ciphertext modulus chain, smallest level first; P the
	// special primes of the relinearization key.
	Q, P []uint64
	// ItemLimbs is how many slots (field elements) one item occupies.
	ItemLimbs int
	// LabelSize is the size of every label in bytes (0 for plain PSI).
	LabelSize int
	// Rows is how many ciphertexts wide the cuckoo table is; it has
	// Rows × N/ItemLimbs bins.
	Rows int
	// HashCount is the number of cuckoo hash functions.
	HashCount int
	// MaxBatch is the largest batch a query may carry.
	MaxBatch int
	// BinCapacity is the most items one bin of one bundle holds: the
	// degree of the matching polynomials.
	BinCapacity int
	// PSLow is the Paterson-Stockmeyer low degree: the provider evaluates
	// p(x) = Σ x^{i·PSLow}·q_i(x) with deg q_i < PSLow.
	PSLow int
	// MaxBundles bounds the bundles per row of an answer (and so the
	// database size: about MaxBundles × BinCapacity × bins / HashCount items).
	MaxBundles int
}

// Limits that bound every decoder and every parameter set.
const (
	// MinItemSize and MaxItemSize bound a PRF output: psi/oprf's
	// OutputSize is 64; any 32 bytes of a uniform PRF output also serve.
	MinItemSize = 32
	MaxItemSize = 64
	// MaxLabelSize is the largest label the label mask covers.
	MaxLabelSize = 64
	// maxRows, maxBundles and maxCapacity bound allocations by a peer's
	// parameters before any of it is believed.
	maxRows     = 16
	maxBundles  = 4096
	maxCapacity = 1 << 14
	maxHashes   = 4
	// itemBits is the size of the item hash (SHA-512) in bits.
	itemBits = 512
)

// maxLogQP is the largest log2(QP) with 128-bit security for a ternary
// secret, per the HomomorphicEncryption.org security standard (2018), by LogN.
var maxLogQP = map[int]int{12: 109, 13: 218, 14: 438, 15: 881}

// scheme is Params checked and expanded: the lattigo parameters and the
// derived sizes every side uses.
type scheme struct {
	p          Params
	bgv        bgv.Parameters
	slots      int
	binsPerRow int
	tableSize  int
	feltBits   int // bits carried by one slot (floor(log2 t))
	labelParts int // label polynomials per bundle
	plan       powerPlan
	t          modT
	// ntt builds the transform tables of fast interpolation on a
	// provider's first use (requesters never need them).
	ntt func() *ntt
	// rlkBytes is the size of a relinearization key's encoding, which
	// lattigo tells only of a key: one is built at the first use, not at
	// every query or key checked.
	rlkBytes func() int
	encoded  []byte   // Params' canonical encoding
	digest   [32]byte // and its digest
}

// Validate checks the parameters against the security table and internal
// consistency without building lattigo objects.
func (p Params) Validate() error {
	_, err := p.scheme()
	return err
}

// schemes caches checked parameter sets: building lattigo's NTT tables
// costs tens of milliseconds and every message checks its parameters.
// At most maxCached sets are kept, so peers cannot grow it.
var schemes struct {
	sync.Mutex
	m map[string]*scheme
}

const maxCached = 16

func (p Params) scheme() (*scheme, error) {
	var buf [160]byte
	key := p.cacheKey(buf[:0])
	schemes.Lock()
	s, ok := schemes.m[string(key)]
	schemes.Unlock()
	if ok {
		return s, nil
	}
	s, err := p.newScheme()
	if err != nil {
		return nil, err
	}
	schemes.Lock()
	defer schemes.Unlock()
	if schemes.m == nil {
		schemes.m = map[string]*scheme{}
	}
	if len(schemes.m) < maxCached {
		schemes.m[string(key)] = s
	}
	return s, nil
}

// cacheKey appends p's key in the schemes cache to dst: every field at
// full width, Q and P after their lengths, so that two sets share a key
// only if they are equal. The wire encoding would not do: its narrow
// fields let an unchecked set (Rows = 257) alias a valid one. Written into
// the caller's stack buffer it allocates nothing on a cache hit, which
// every message's parameter check is.
func (p Params) cacheKey(dst []byte) []byte {
	for _, v := range [...]int{p.LogN, p.ItemLimbs, p.LabelSize, p.Rows, p.HashCount, p.MaxBatch, p.BinCapacity, p.PSLow, p.MaxBundles} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	dst = binary.LittleEndian.AppendUint64(dst, p.PlainModulus)
	for _, primes := range [...][]uint64{p.Q, p.P} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(primes)))
		for _, q := range primes {
			dst = binary.LittleEndian.AppendUint64(dst, q)
		}
	}
	return dst
}

func (p Params) newScheme() (*scheme, error) {
	p.Q, p.P = slices.Clone(p.Q), slices.Clone(p.P)
	bad := func(format string, args ...any) (*scheme, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrParams}, args...)...)
	}
	limit, ok := maxLogQP[p.LogN]
	if !ok {
		return bad("LogN %d not in 12..15", p.LogN)
	}
	if len(p.Q) < 2 || len(p.Q) > 8 || len(p.P) < 1 || len(p.P) > 4 {
		return bad("%d Q primes and %d P primes", len(p.Q), len(p.P))
	}
	logQP := 0.0
	for _, q := range append(append([]uint64{}, p.Q...), p.P...) {
		if q < 1<<20 || q >= 1<<61 || !big.NewInt(0).SetUint64(q).ProbablyPrime(20) {
			return bad("modulus %d is not a prime of 21 to 61 bits", q)
		}
		logQP += math.Log2(float64(q))
	}
	if int(logQP+0.5) > limit {
		return bad("log2(QP) = %.1f exceeds %d for LogN %d", logQP, limit, p.LogN)
	}
	n := uint64(1) << p.LogN
	t := p.PlainModulus
	if t < 1<<16 || t >= 1<<31 || t%(2*n) != 1 || !big.NewInt(0).SetUint64(t).ProbablyPrime(20) {
		return bad("plain modulus %d is not a prime below 2^31 equal to 1 mod 2N", t)
	}
	feltBits := bits.Len64(t) - 1
	slots := int(n)
	switch {
	case p.ItemLimbs < 1 || slots%p.ItemLimbs != 0 || p.ItemLimbs*feltBits > itemBits-64*maxHashes:
		return bad("item limbs %d", p.ItemLimbs)
	case p.LabelSize < 0 || p.LabelSize > MaxLabelSize:
		return bad("label size %d", p.LabelSize)
	case p.Rows < 1 || p.Rows > maxRows:
		return bad("rows %d", p.Rows)
	case p.HashCount < 2 || p.HashCount > maxHashes:
		return bad("hash count %d", p.HashCount)
	case p.BinCapacity < 1 || p.BinCapacity > maxCapacity:
		return bad("bin capacity %d", p.BinCapacity)
	case p.PSLow < 2 || p.PSLow > p.BinCapacity+1:
		return bad("Paterson-Stockmeyer low degree %d", p.PSLow)
	case p.MaxBundles < 1 || p.MaxBundles > maxBundles:
		return bad("max bundles %d", p.MaxBundles)
	}
	binsPerRow := slots / p.ItemLimbs
	tableSize := binsPerRow * p.Rows
	// A cuckoo table fuller than half fails too often with three hashes
	// and no stash (docs/protocol/hepsi.md, "Failure probabilities").
	if p.MaxBatch < 1 || 2*p.MaxBatch > tableSize {
		return bad("max batch %d for %d bins", p.MaxBatch, tableSize)
	}
	bp, err := bgv.NewParametersFromLiteral(bgv.ParametersLiteral{
		LogN: p.LogN, Q: p.Q, P: p.P, PlaintextModulus: t,
	})
	if err != nil {
		return bad("lattigo: %v", err)
	}
	plan, err := newPowerPlan(p.BinCapacity, p.PSLow)
	if err != nil {
		return nil, err
	}
	perPart := p.ItemLimbs * feltBits
	encoded, err := p.encode()
	if err != nil {
		return bad("encode: %v", err)
	}
	f := newModT(t)
	return &scheme{
		ntt:        sync.OnceValue(func() *ntt { return newNTT(f) }),
		rlkBytes:   sync.OnceValue(func() int { return rlwe.NewRelinearizationKey(bp).BinarySize() }),
		encoded:    encoded,
		digest:     digest(paramsDomain, encoded),
		p:          p,
		bgv:        bp,
		slots:      slots,
		binsPerRow: binsPerRow,
		tableSize:  tableSize,
		feltBits:   feltBits,
		labelParts: (8*p.LabelSize + perPart - 1) / perPart,
		plan:       plan,
		t:          f,
	}, nil
}
