package dleq

import (
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// ProofSize is the size of an encoded proof: the challenge c and response
// s, two canonical 32-byte scalars.
const ProofSize = 64

// ElementSize is the size of an encoded ristretto255 element.
const ElementSize = 32

// MaxBatch bounds a batch: the framing encodes n in four bytes, and callers
// bound their own batches far below it.
const MaxBatch = 1 << 24

var (
	// ErrBatch reports base and image vectors of different lengths, or an
	// empty or oversized batch.
	ErrBatch = errors.New("dleq: base and image batches differ or are out of range")
	// ErrProofEncoding reports a proof that is not two canonical scalars.
	ErrProofEncoding = errors.New("dleq: proof is not two canonical scalars")
	// ErrVerification reports a proof that does not verify.
	ErrVerification = errors.New("dleq: proof does not verify")
	// ErrRandomness reports a random source that failed or produced a zero nonce.
	ErrRandomness = errors.New("dleq: randomness source failed")
)

// Proof is an encoded batched proof: c || s.
type Proof [ProofSize]byte

// Suite fixes the domain-separation label of every hash of one protocol's
// proofs, so a proof made for one protocol never verifies in another.
type Suite struct {
	label []byte // one length byte, then the label
}

// NewSuite returns the suite for label (1 to 255 bytes, a constant of the
// calling protocol, e.g. "riskmesh/v1/ecdh-psi/dleq").
func NewSuite(label string) *Suite {
	if len(label) == 0 || len(label) > 255 {
		panic("dleq: label must be 1 to 255 bytes")
	}
	return &Suite{label: append([]byte{byte(len(label))}, label...)}
}

// hash returns SHA-512 having absorbed the suite label and the purpose.
func (s *Suite) hash(purpose string) hash.Hash {
	h := sha512.New()
	s.restart(h, purpose)
	return h
}

// restart resets h to the state hash(purpose) returns, without allocating.
func (s *Suite) restart(h hash.Hash, purpose string) {
	h.Reset()
	h.Write(s.label)
	h.Write([]byte(purpose))
}

func toScalar(dst *edwards25519.Scalar, h hash.Hash) {
	var u [sha512.Size]byte
	h.Sum(u[:0])
	_, _ = dst.SetUniformBytes(u[:])
}

// seed hashes the commitment and the whole batch (bases first, then
// images). Every encoding is 32 bytes and n is framed, so the input is
// unambiguous.
func seed[P ~[ElementSize]byte](s *Suite, k *[ElementSize]byte, bases, images []P) [sha512.Size]byte {
	h := s.hash("seed")
	h.Write(k[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(bases)))
	h.Write(n[:])
	for i := range bases {
		h.Write(bases[i][:])
	}
	for i := range images {
		h.Write(images[i][:])
	}
	var out [sha512.Size]byte
	h.Sum(out[:0])
	return out
}

// Composite weights are 128 bits, four to a SHA-512 output: a weighted
// sum Σ d_i·e_i of a non-zero error vector vanishes for at most a 2^-128
// fraction of weight vectors (small-exponent batch verification), and
// because every weight hashes the seed of the whole batch a prover gets one
// such try per hash evaluation. Half-length weights halve the additions of
// the multi-scalar multiplications, the proof's main cost.
const (
	weightSize = 16
	// WeightsPerBlock is how many 128-bit weights one SHA-512 output
	// gives (SmallWeights).
	WeightsPerBlock = sha512.Size / weightSize
)

// SmallWeights sets w[i-lo] to the 128-bit weight d_i for every i in
// [lo, lo+len(w)): bytes [16(i mod 4), 16(i mod 4)+16) of block ⌊i/4⌋, read
// as a little-endian integer, which is below ℓ and so a canonical scalar.
// block(j) returns block j, a SHA-512 output that hashes the batch's seed
// and j under the caller's domain separation; it is called once per block
// the range touches. It returns the block by value: a pointer into
// SmallWeights' frame, passed to a function value, would move the block to
// the heap at every call. This package's proofs and psi/oprf's
// ProofBinding128 rule draw their weights through it, each with its own
// framing of the block hash.
func SmallWeights(w []edwards25519.Scalar, lo int, block func(j int) [sha512.Size]byte) {
	var (
		blk [sha512.Size]byte
		le  [32]byte
	)
	for k := range w {
		i := lo + k
		if k == 0 || i%WeightsPerBlock == 0 {
			blk = block(i / WeightsPerBlock)
		}
		off := (i % WeightsPerBlock) * weightSize
		copy(le[:weightSize], blk[off:off+weightSize])
		_, _ = w[k].SetCanonicalBytes(le[:])
	}
}

// weightedSums sets sums[j] = Σ d_i·points[j][i], with d_i the composite
// weights of the batch under seed. Every block hash is the same message up
// to its index, so the message is framed once and each chunk hashes a copy
// on its stack with sha512.Sum512: no hash state is allocated per chunk.
func (s *Suite) weightedSums(seed *[sha512.Size]byte, n int, sums []*edwards25519.Point, points ...[]edwards25519.Point) {
	// label (at most 256 bytes), "weight", the seed and a 4-byte index.
	var framed [256 + len(weightPurpose) + sha512.Size + 4]byte
	prefix := append(append(append(framed[:0], s.label...), weightPurpose...), seed[:]...)
	w := make([]edwards25519.Scalar, n)
	WeightedSums(n, func(lo, hi int) []edwards25519.Scalar {
		var buf [len(framed)]byte
		msg := append(buf[:0], prefix...)
		msg = append(msg, 0, 0, 0, 0)
		SmallWeights(w[lo:hi], lo, func(j int) [sha512.Size]byte {
			binary.BigEndian.PutUint32(msg[len(msg)-4:], uint32(j))
			return sha512.Sum512(msg)
		})
		return w[lo:hi]
	}, sums, points...)
}

// weightPurpose is the purpose string of the weights' block hashes.
const weightPurpose = "weight"

// Group is an element type WeightedSums sums: ristretto255.Element, or
// edwards25519.Point for a caller that keeps the representatives behind
// ristretto255 elements (this package's proofs and psi/oprf's evaluator,
// which encode their points in batches). S is its scalar type.
type Group[S, E any] interface {
	*E
	Set(*E) *E
	Add(*E, *E) *E
	Subtract(*E, *E) *E
	Negate(*E) *E
	VarTimeMultiScalarMult([]*S, []*E) *E
}

// Scalar is the scalar type of a Group: its canonical little-endian
// encoding gives the digits of the multi-scalar multiplications.
type Scalar[S any] interface {
	*S
	Bytes() []byte
}

// WeightedSums sets sums[j] = Σ_{i<n} d_i·points[j][i] in variable time, so
// only public values may go through it (composite weights and transcript
// elements). weights(lo, hi) returns d_lo … d_{hi-1}; it is called once
// for each chunk of [0, n), from GOMAXPROCS goroutines at once, so the
// weights' hashing is spread over the cores with the multi-scalar
// multiplications (msm.go says how those are split). psi/oprf's proofs use
// it with their own (RFC 9497) weights.
func WeightedSums[S, E any, PS Scalar[S], P Group[S, E]](n int, weights func(lo, hi int) []S, sums []*E, points ...[]E) {
	weightedSums[S, E, PS, P](runtime.GOMAXPROCS(0), n, weights, sums, points...)
}

// challenge hashes the commitment and the encodings of M, Z, r·G and r·M
// (in that order in pts).
func (s *Suite) challenge(k *[ElementSize]byte, pts *[4]edwards25519.Point) edwards25519.Scalar {
	var enc [4 * ElementSize]byte
	ristretto.Encode(enc[:], pts[:])
	h := s.hash("challenge")
	h.Write(k[:])
	h.Write(enc[:])
	var c edwards25519.Scalar
	toScalar(&c, h)
	return c
}

func checkBatch(nb, ni, nd int) error {
	if nb != ni || nb != nd || nb == 0 || nb > MaxBatch {
		return fmt.Errorf("%w: %d bases, %d images, %d decoded", ErrBatch, nb, ni, nd)
	}
	return nil
}

// Prove proves that images[i] = k·bases[i] for every i, with commitment
// the encoding of k·G. basesDecoded holds the bases decoded (the prover
// has them from exponentiating), as edwards25519 representatives. fresh
// draws 64 bytes for the hedged nonce. k and the nonce only meet
// constant-time operations.
func Prove[P ~[ElementSize]byte](s *Suite, k *ristretto255.Scalar, commitment *[ElementSize]byte, bases, images []P, basesDecoded []edwards25519.Point, fresh io.Reader) (Proof, error) {
	if err := checkBatch(len(bases), len(images), len(basesDecoded)); err != nil {
		return Proof{}, err
	}
	sd := seed(s, commitment, bases, images)
	// pts holds M, Z = k·M, r·G and r·M, the challenge's points.
	var pts [4]edwards25519.Point
	s.weightedSums(&sd, len(bases), []*edwards25519.Point{&pts[0]}, basesDecoded)

	var buf [64]byte
	if _, err := io.ReadFull(fresh, buf[:]); err != nil {
		return Proof{}, fmt.Errorf("%w: %w", ErrRandomness, err)
	}
	kb := k.Bytes()
	h := s.hash("nonce")
	h.Write(kb)
	h.Write(sd[:])
	h.Write(buf[:])
	clear(buf[:])
	var r, ke, zero edwards25519.Scalar
	toScalar(&r, h)
	if r.Equal(&zero) == 1 {
		return Proof{}, ErrRandomness
	}
	// k is canonical, so the conversion cannot fail.
	_, _ = ke.SetCanonicalBytes(kb)
	clear(kb)

	pts[1].ScalarMult(&ke, &pts[0])
	pts[2].ScalarBaseMult(&r)
	pts[3].ScalarMult(&r, &pts[0])
	c := s.challenge(commitment, &pts)
	var resp edwards25519.Scalar
	resp.Multiply(&c, &ke)
	resp.Subtract(&r, &resp)
	r, ke = zero, zero
	var p Proof
	copy(p[:32], c.Bytes())
	copy(p[32:], resp.Bytes())
	return p, nil
}

// Verify checks a proof that images[i] = k·bases[i] for every i under the
// commitment K = k·G, whose encoding is commitment. The caller has decoded
// (and so validated) every base and image into edwards25519
// representatives; the encodings are what the seed hashes.
func Verify[P ~[ElementSize]byte](s *Suite, commitment *[ElementSize]byte, bases, images []P, basesDecoded, imagesDecoded []edwards25519.Point, proof *Proof) error {
	if err := checkBatch(len(bases), len(images), len(basesDecoded)); err != nil {
		return err
	}
	if len(imagesDecoded) != len(images) {
		return fmt.Errorf("%w: %d images, %d decoded", ErrBatch, len(images), len(imagesDecoded))
	}
	var c, resp edwards25519.Scalar
	if _, err := c.SetCanonicalBytes(proof[:32]); err != nil {
		return ErrProofEncoding
	}
	if _, err := resp.SetCanonicalBytes(proof[32:]); err != nil {
		return ErrProofEncoding
	}
	var key edwards25519.Point
	if err := ristretto.Decode(&key, commitment[:]); err != nil {
		return fmt.Errorf("%w: commitment is not a canonical element: %w", ErrVerification, err)
	}
	sd := seed(s, commitment, bases, images)
	var pts [4]edwards25519.Point
	s.weightedSums(&sd, len(bases), []*edwards25519.Point{&pts[0], &pts[1]}, basesDecoded, imagesDecoded)
	// r·G = s·G + c·K and r·M = s·M + c·Z for an honest proof.
	pts[2].VarTimeDoubleScalarBaseMult(&c, &key, &resp)
	pts[3].VarTimeMultiScalarMult([]*edwards25519.Scalar{&resp, &c}, []*edwards25519.Point{&pts[0], &pts[1]})
	want := s.challenge(commitment, &pts)
	if want.Equal(&c) != 1 {
		return ErrVerification
	}
	return nil
}
