package ecdh

import (
	"crypto/sha256"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/xmd"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// PointSize is the length of an encoded ristretto255 element.
const PointSize = 32

// Domain-separation labels. Changing any of them changes every masked value,
// so they carry the protocol version.
const (
	// labelHashToGroup prefixes the RFC 9380 DST; the session id follows it.
	// The suffix is the RFC 9380 suite id of hash_to_ristretto255.
	labelHashToGroup = "riskmesh/v1/ecdh-psi/ristretto255_XMD:SHA-512_R255MAP_RO_/"
	// labelMatchKey separates the hash that turns double-masked points into map keys.
	labelMatchKey = "riskmesh/v1/ecdh-psi/match-key"
)

// matchKeySize is 128 bits: with at most 2^22 items a side the chance of any
// false match is below 2^-84.
const matchKeySize = 16

// Point is the canonical encoding of a ristretto255 element. Points in a
// decoded message are valid and not the identity.
type Point [PointSize]byte

type matchKey [matchKeySize]byte

// hasher hashes items to the group for one session. It is safe for
// concurrent use: the expander keeps no state between calls.
type hasher struct {
	xmd *xmd.Expander
}

func newHasher(sid SessionID) *hasher {
	dst := make([]byte, 0, len(labelHashToGroup)+len(sid))
	dst = append(append(dst, labelHashToGroup...), sid[:]...)
	return &hasher{xmd: xmd.New(dst)}
}

// hash sets e to hash_to_ristretto255(item, DST) (RFC 9380 appendix B): the
// one-way map of RFC 9496 applied to 64 uniform bytes, so nobody knows the
// discrete log of the result, unlike try-and-increment over a cofactor curve.
// e is the edwards25519 representative (psi/internal/ristretto).
func (h *hasher) hash(e *edwards25519.Point, item []byte) error {
	// The map fails only if its output is off the curve, which it never
	// is; the error is passed on rather than trusted away.
	var u [xmd.Size]byte
	h.xmd.Expand(&u, item)
	return ristretto.FromUniformBytes(e, &u)
}

var identity Point // RFC 9496: the identity encodes as 32 zero bytes

// decodePoint sets e to a representative of the element p encodes,
// rejecting non-canonical encodings and the identity: an identity would
// match every identity and signals a broken or hostile peer.
func decodePoint(e *edwards25519.Point, p *Point) error {
	if *p == identity {
		return ErrIdentityPoint
	}
	if err := ristretto.Decode(e, p[:]); err != nil {
		return ErrInvalidPoint
	}
	return nil
}

// encodePoint writes the canonical encoding of e into p, with an inverse
// square root of its own: for the odd point outside the batch paths
// (encodeDoubles shares one inversion among many).
func encodePoint(p *Point, e *edwards25519.Point) {
	ristretto.Encode(p[:], []edwards25519.Point{*e})
}

// encodeDoubles writes the encoding of 2·q[i] into out[i], one field
// inversion per chunkSize points (psi/internal/ristretto).
func encodeDoubles(out []Point, q []edwards25519.Point) {
	var buf [chunkSize * PointSize]byte
	for lo := 0; lo < len(q); lo += chunkSize {
		hi := min(lo+chunkSize, len(q))
		ristretto.DoubleAndEncode(buf[:(hi-lo)*PointSize], q[lo:hi])
		for i := lo; i < hi; i++ {
			copy(out[i][:], buf[(i-lo)*PointSize:])
		}
	}
}

// halfScalar returns s/2: multiplying by it and encoding the doubles gives
// the encodings of the points multiplied by s.
func halfScalar(s *ristretto255.Scalar) edwards25519.Scalar {
	var half edwards25519.Scalar
	b := s.Bytes()
	// A ristretto255 scalar is canonical, so the conversion cannot fail.
	_, _ = half.SetCanonicalBytes(b)
	clear(b)
	ristretto.HalfScalar(&half, &half)
	return half
}

// clearScalar wipes a copy of a secret scalar.
func clearScalar(s *edwards25519.Scalar) { *s = edwards25519.Scalar{} }

// commitmentTo returns the encoding of s·G, the key commitment a
// reconciliation's proofs are checked against.
func commitmentTo(s *ristretto255.Scalar) Point {
	var k ristretto255.Element
	k.ScalarBaseMult(s)
	return Point(k.Bytes())
}

// key derives the map key of a double-masked point. Hashing (rather than
// truncating) keeps keys uniform and bound to the session.
func (sid *SessionID) key(p *Point) matchKey {
	var buf [len(labelMatchKey) + len(SessionID{}) + PointSize]byte
	n := copy(buf[:], labelMatchKey)
	n += copy(buf[n:], sid[:])
	copy(buf[n:], p[:])
	sum := sha256.Sum256(buf[:])
	return matchKey(sum[:matchKeySize])
}

// randomScalar draws a uniform non-zero scalar: 64 bytes reduced modulo the
// group order, so the bias is below 2^-250.
func randomScalar(rand io.Reader) (*ristretto255.Scalar, error) {
	var buf [64]byte
	zero := ristretto255.NewScalar()
	for range 4 {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return nil, fmt.Errorf("ecdh: read randomness: %w", err)
		}
		s, err := ristretto255.NewScalar().SetUniformBytes(buf[:])
		if err != nil {
			return nil, err
		}
		if s.Equal(zero) == 0 {
			return s, nil
		}
	}
	return nil, fmt.Errorf("ecdh: randomness source returned zero scalars repeatedly")
}
