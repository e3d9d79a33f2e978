package oprf

import (
	"crypto/sha256"
	"encoding/binary"
	"io"

	"github.com/gtank/ristretto255"
)

// KeyIDSize is the size of a KeyID.
const KeyIDSize = sha256.Size

// keyIDLabel domain-separates key ids from every other SHA-256 in RiskMesh
// and binds the suite, so equal bytes under another suite get another id.
const keyIDLabel = "riskmesh/v1/oprf/key-id/" + SuiteID

// KeyID names a provider public key in transcripts and on the ledger:
// SHA-256(I2OSP(len(label), 2) || label || public key encoding).
type KeyID [KeyIDSize]byte

// PrivateKey is a provider's long-term POPRF key skS, a non-zero scalar.
type PrivateKey struct {
	k   ristretto255.Scalar
	pub PublicKey
}

// PublicKey is pkS = skS·G. The zero value is not a valid key.
type PublicKey struct {
	e     ristretto255.Element
	enc   [ElementSize]byte
	valid bool
}

// GenerateKey draws a key from rand, crypto/rand if nil (64 bytes reduced
// modulo the group order, so the bias is negligible).
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	var k ristretto255.Scalar
	if err := randomScalar(rand, &k); err != nil {
		return nil, err
	}
	return newPrivateKey(&k), nil
}

// DeriveKey is RFC 9497 DeriveKeyPair for the POPRF mode: a deterministic
// key from a 32-byte secret seed and a public key-info string. It exists for
// the RFC vectors and for providers who escrow a seed instead of a key.
func DeriveKey(seed, info []byte) (*PrivateKey, error) {
	return poprf.deriveKey(seed, info)
}

func (p *params) deriveKey(seed, info []byte) (*PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, ErrInvalidSeed
	}
	if len(info) > MaxInfoLen {
		return nil, ErrInfoTooLong
	}
	msg := make([]byte, 0, SeedSize+2+len(info)+1)
	msg = append(msg, seed...)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(info)))
	msg = append(msg, info...)
	msg = append(msg, 0)
	var k, zero ristretto255.Scalar
	for counter := 0; counter <= 255; counter++ {
		msg[len(msg)-1] = byte(counter)
		hashToScalarWith(p.deriveKeyX, &k, msg)
		if k.Equal(&zero) == 0 {
			return newPrivateKey(&k), nil
		}
	}
	return nil, ErrDeriveKeyPair
}

func newPrivateKey(k *ristretto255.Scalar) *PrivateKey {
	sk := &PrivateKey{k: *k}
	sk.pub.e.ScalarBaseMult(k)
	copy(sk.pub.enc[:], sk.pub.e.Bytes())
	sk.pub.valid = true
	return sk
}

// Public returns the key's public half, nil for a nil key.
func (sk *PrivateKey) Public() *PublicKey {
	if sk == nil {
		return nil
	}
	pub := sk.pub
	return &pub
}

// MarshalBinary returns the 32-byte little-endian scalar.
func (sk *PrivateKey) MarshalBinary() ([]byte, error) {
	if sk == nil || !sk.pub.valid {
		return nil, ErrInvalidPrivateKey
	}
	return sk.k.Bytes(), nil
}

// UnmarshalBinary accepts exactly 32 bytes holding a canonical, non-zero
// scalar.
func (sk *PrivateKey) UnmarshalBinary(b []byte) error {
	var k, zero ristretto255.Scalar
	if len(b) != ScalarSize {
		return ErrInvalidPrivateKey
	}
	if _, err := k.SetCanonicalBytes(b); err != nil {
		return ErrInvalidPrivateKey
	}
	if k.Equal(&zero) == 1 {
		return ErrInvalidPrivateKey
	}
	*sk = *newPrivateKey(&k)
	return nil
}

// MarshalBinary returns the 32-byte canonical element encoding.
func (pk *PublicKey) MarshalBinary() ([]byte, error) {
	if pk == nil || !pk.valid {
		return nil, ErrInvalidPublicKey
	}
	return append([]byte(nil), pk.enc[:]...), nil
}

// UnmarshalBinary accepts exactly 32 bytes holding a canonical encoding of a
// non-identity element.
func (pk *PublicKey) UnmarshalBinary(b []byte) error {
	var e ristretto255.Element
	if err := decodeElement(&e, b); err != nil {
		return ErrInvalidPublicKey
	}
	*pk = PublicKey{e: e, valid: true}
	copy(pk.enc[:], b)
	return nil
}

// Equal reports whether pk and other are the same valid key.
func (pk *PublicKey) Equal(other *PublicKey) bool {
	return pk != nil && pk.valid && other != nil && other.valid && pk.enc == other.enc
}

// KeyID returns the key's transcript identifier. The zero KeyID stands for
// an invalid or nil key.
func (pk *PublicKey) KeyID() KeyID {
	if pk == nil || !pk.valid {
		return KeyID{}
	}
	buf := make([]byte, 0, 2+len(keyIDLabel)+ElementSize)
	buf = appendLenPrefixed(buf, []byte(keyIDLabel))
	buf = append(buf, pk.enc[:]...)
	return sha256.Sum256(buf)
}
