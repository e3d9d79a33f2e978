package ecdh

import (
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/xmd"
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
func (h *hasher) hash(e *ristretto255.Element, item []byte) error {
	// SetUniformBytes fails only on a length other than 64, which the
	// expander never produces; the error is passed on rather than trusted away.
	var u [xmd.Size]byte
	h.xmd.Expand(&u, item)
	_, err := e.SetUniformBytes(u[:])
	return err
}

var identity Point // RFC 9496: the identity encodes as 32 zero bytes

// decodePoint sets e to the element p encodes, rejecting non-canonical
// encodings and the identity: an identity would match every identity and
// signals a broken or hostile peer.
func decodePoint(e *ristretto255.Element, p *Point) error {
	if *p == identity {
		return ErrIdentityPoint
	}
	if _, err := e.SetCanonicalBytes(p[:]); err != nil {
		return ErrInvalidPoint
	}
	return nil
}

// encodePoint writes the canonical encoding of e into p. Bytes is outlined
// by its package so its buffer stays on this stack: no allocation.
func encodePoint(p *Point, e *ristretto255.Element) {
	copy(p[:], e.Bytes())
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
