package identity

import (
	"crypto"
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A key in the token is named in the identity directory by a reference
// file in place of the key file (tls.key, signing.key), so the rotation's
// commit point and crash recovery (rotate.go) work unchanged. The file is
// one PEM block "RISKMESH PKCS11 KEY" whose bytes are
//
//	uint8  version (1)
//	uint8  length, then the key pair's CKA_ID
//	uint16 length, then the public key, PKIX DER
//
// The public key lets recovery match a pending reference against the
// public file without the token, and Load check that the token's key pair
// under that CKA_ID is the one referred to.
//
// An OPRF key wrapped by a token key is one PEM block "RISKMESH WRAPPED
// OPRF PRIVATE KEY" in the key's usual file:
//
//	uint8  version (1)
//	uint8  length, then the wrapping AES-256 key's CKA_ID
//	the 12-byte AES-GCM nonce
//	the AES-GCM ciphertext of the 32-byte scalar, computed in the token
//
// with the associated data wrapADLabel || category, so a wrapped key
// cannot be moved to another category's file. A category's previous key
// is a byte copy of the file it replaced, so current and previous share
// the binding.
const (
	pemTokenKey       = "RISKMESH PKCS11 KEY"
	pemWrappedOPRFKey = "RISKMESH WRAPPED OPRF PRIVATE KEY"
	tokenRefVersion   = 1
	wrapVersion       = 1
	wrapADLabel       = "riskmesh oprf key wrap v1\x00"
)

// tokenRef is a parsed reference file.
type tokenRef struct {
	id  []byte
	pub *ecdsa.PublicKey
	der []byte
}

func marshalTokenRef(id, pubDER []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(tokenRefVersion)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(id) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(pubDER) })
	return encodePEM(pemTokenKey, b.BytesOrPanic())
}

func parseTokenRef(raw []byte) (*tokenRef, error) {
	s := cryptobyte.String(raw)
	var version uint8
	var id, der cryptobyte.String
	if !s.ReadUint8(&version) || version != tokenRefVersion ||
		!s.ReadUint8LengthPrefixed(&id) || len(id) == 0 ||
		!s.ReadUint16LengthPrefixed(&der) || !s.Empty() {
		return nil, fmt.Errorf("%w: token key reference", ErrMalformed)
	}
	pub, err := ecsig.ParsePublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: token key reference: %w", ErrMalformed, err)
	}
	return &tokenRef{id: []byte(id), pub: pub, der: []byte(der)}, nil
}

// privateFile is what tls.key or signing.key holds: a PKCS #8 key or a
// reference to a key pair in the token.
type privateFile struct {
	key *ecdsa.PrivateKey
	ref *tokenRef
}

// pemType returns the type of the first PEM block in data ("" if none);
// the decoder for that type then checks the whole file.
func pemType(data []byte) string {
	block, _ := pem.Decode(data)
	if block == nil {
		return ""
	}
	return block.Type
}

// parsePrivateFile parses a key file of either kind.
func parsePrivateFile(data []byte) (privateFile, error) {
	if pemType(data) != pemTokenKey {
		key, err := ParsePrivateKey(data)
		return privateFile{key: key}, err
	}
	raw, err := decodePEM(data, pemTokenKey)
	if err != nil {
		return privateFile{}, err
	}
	ref, err := parseTokenRef(raw)
	return privateFile{ref: ref}, err
}

// public returns the key's public half, without opening the token.
func (p privateFile) public() *ecdsa.PublicKey {
	if p.ref != nil {
		return p.ref.pub
	}
	return &p.key.PublicKey
}

// signer returns the key as a crypto.Signer, from the token if it is
// there.
func (p privateFile) signer(t *Token) (crypto.Signer, error) {
	if p.ref == nil {
		return p.key, nil
	}
	if t == nil {
		return nil, fmt.Errorf("%w: the key is in a PKCS#11 token and none is configured (node.yaml hsm section)", ErrToken)
	}
	return t.keyPair(p.ref.id, p.ref.pub)
}

// wrapOPRFKey encrypts key under the token's wrapping key for category,
// in the token KEK's encoding (sealkek.go) after the version byte.
func (t *Token) wrapOPRFKey(label, category string, key *oprf.PrivateKey) ([]byte, error) {
	kek, err := t.oprfKEK(label)
	if err != nil {
		return nil, err
	}
	raw, err := key.MarshalBinary()
	if err != nil {
		return nil, err
	}
	wrapped, err := kek.Wrap(cryptorand.Reader, raw, []byte(wrapADLabel+category))
	if err != nil {
		return nil, err
	}
	return encodePEM(pemWrappedOPRFKey, append([]byte{wrapVersion}, wrapped...)), nil
}

// unwrapOPRFKey decrypts a wrapped OPRF key of category in the token; the
// scalar exists only in the returned key's memory.
func (t *Token) unwrapOPRFKey(raw []byte, category string) (*oprf.PrivateKey, error) {
	if len(raw) == 0 || raw[0] != wrapVersion {
		return nil, fmt.Errorf("%w: wrapped OPRF key", ErrMalformed)
	}
	plain, err := t.anyKEK().Unwrap(raw[1:], []byte(wrapADLabel+category))
	switch {
	case errors.Is(err, ErrKeyMissing) || errors.Is(err, ErrToken):
		return nil, err
	case errors.Is(err, seal.ErrMalformed):
		return nil, fmt.Errorf("%w: wrapped OPRF key", ErrMalformed)
	case err != nil:
		return nil, fmt.Errorf("%w: wrapped OPRF key does not open under its wrapping key for this category", ErrMismatch)
	}
	key := new(oprf.PrivateKey)
	if err := key.UnmarshalBinary(plain); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return key, nil
}
