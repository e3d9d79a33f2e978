// Package ecsig is the one signature scheme RiskMesh uses for transcripts,
// endorsements and registry keys: ECDSA over NIST P-256 applied directly to a
// 32-byte SHA-256 digest, encoded as ASN.1 DER with a low S value.
//
// It matches what Fabric MSP identities produce (fabric-gateway's
// identity.NewPrivateKeySign normalises S the same way), so a node can sign
// with the key it already uses for Fabric transactions. Low-S is required on
// verification because a signature that could be rewritten into a second
// valid form would make "the same ledger entry, submitted again" ambiguous.
//
// Public keys travel as PKIX (SubjectPublicKeyInfo) DER. The package does not
// hash: callers pass digests built with their own domain separation.
//
// PrecomputedKey verifies many signatures under one key at about half the
// CPU of VerifyKey, accepting exactly the same signatures; it is not
// constant time, which verification of public data need not be. Keys holds
// parsed keys and gives the busiest their tables; Verify and VerifyAny go
// through one Keys per process.
package ecsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DigestSize is the length of every digest this package signs.
const DigestSize = 32

// MaxSignatureSize bounds a DER P-256 signature (2 x 33-byte INTEGER plus headers).
const MaxSignatureSize = 72

// MaxPublicKeySize bounds a PKIX DER P-256 public key (91 bytes uncompressed).
const MaxPublicKeySize = 128

var (
	ErrDigestSize   = errors.New("ecsig: digest must be 32 bytes")
	ErrBadSignature = errors.New("ecsig: signature does not verify")
	ErrHighS        = errors.New("ecsig: signature is not in low-S form")
	ErrPublicKey    = errors.New("ecsig: not a P-256 ECDSA public key")
	ErrNoKey        = errors.New("ecsig: no key to verify against")
)

// Sign signs a digest. It is the shape of fabric-gateway's identity.Sign, so a
// Fabric identity's signer can be passed wherever RiskMesh signs.
type Sign func(digest []byte) ([]byte, error)

// halfOrder is n/2 for P-256; S values above it are rejected.
var halfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// NewSigner returns a Sign that uses key and draws randomness from rand
// (crypto/rand.Reader in production, a deterministic reader in tests).
func NewSigner(key *ecdsa.PrivateKey, rand io.Reader) Sign {
	return func(digest []byte) ([]byte, error) {
		if len(digest) != DigestSize {
			return nil, ErrDigestSize
		}
		r, s, err := ecdsa.Sign(rand, key, digest)
		if err != nil {
			return nil, fmt.Errorf("ecsig: sign: %w", err)
		}
		return lowS(r, s)
	}
}

// FromSigner returns a Sign that uses a P-256 crypto.Signer whose
// signatures are ASN.1 DER, such as a key in a PKCS#11 token, which draws
// its own randomness. It normalises S like NewSigner, as a token need
// not.
func FromSigner(signer crypto.Signer) Sign {
	return func(digest []byte) ([]byte, error) {
		if len(digest) != DigestSize {
			return nil, ErrDigestSize
		}
		der, err := signer.Sign(nil, digest, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("ecsig: sign: %w", err)
		}
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
			return nil, fmt.Errorf("ecsig: sign: the signer returned a malformed signature")
		}
		return lowS(sig.R, sig.S)
	}
}

// lowS encodes (r, s) with s replaced by n-s when above n/2.
func lowS(r, s *big.Int) ([]byte, error) {
	if s.Cmp(halfOrder) > 0 {
		s = new(big.Int).Sub(elliptic.P256().Params().N, s)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// ParsePublicKey parses a PKIX DER P-256 public key.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	if len(der) > MaxPublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrPublicKey, len(der))
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, ErrPublicKey
	}
	return key, nil
}

// MarshalPublicKey encodes a P-256 public key as PKIX DER.
func MarshalPublicKey(key *ecdsa.PublicKey) ([]byte, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, ErrPublicKey
	}
	return x509.MarshalPKIXPublicKey(key)
}

// GenerateKey returns a new P-256 signing key and its public key as PKIX
// DER. Every party's transcript-signing key is P-256 and the ledger registry
// stores it as PKIX DER, so the key and the bytes to register are made
// together. rand nil means crypto/rand.Reader.
func GenerateKey(rand io.Reader) (*ecdsa.PrivateKey, []byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, nil, fmt.Errorf("ecsig: generate key: %w", err)
	}
	der, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("ecsig: encode public key: %w", err)
	}
	return key, der, nil
}

// Verify checks a DER low-S signature over digest against a PKIX DER key.
// The key is parsed once per process and verifies with a table once it
// has verified many signatures (Keys).
func Verify(publicKeyDER, digest, sig []byte) error {
	v, err := shared.Key(publicKeyDER, 1)
	if err != nil {
		return err
	}
	return v.Verify(digest, sig)
}

// VerifyAny checks a signature against a signer's keys (PKIX DER) and
// accepts it if one of them verifies it: after a key rotation, a signer
// has two keys valid for the same period. With no keys it returns
// ErrNoKey; otherwise, if none verifies, the first key's error. Like
// Verify, it keeps the keys parsed (Keys).
func VerifyAny(publicKeysDER [][]byte, digest, sig []byte) error {
	return shared.VerifyAny(publicKeysDER, digest, sig)
}

// VerifyKey is Verify with an already parsed key.
func VerifyKey(key *ecdsa.PublicKey, digest, sig []byte) error {
	if _, _, err := parseSignature(digest, sig); err != nil {
		return err
	}
	if !ecdsa.VerifyASN1(key, digest, sig) {
		return ErrBadSignature
	}
	return nil
}

// parseSignature checks the digest's size and parses a DER signature
// strictly (nothing around or after the two INTEGERs), requiring a low S.
// r is the unsigned big-endian value without leading zeros. It uses
// cryptobyte, the parser ecdsa.VerifyASN1 applies too: encoding/asn1's
// reflection cost more than the rest of the checks around the curve
// arithmetic, in every entry the contract records (docs/benchmarks.md,
// "Contract CPU per entry").
func parseSignature(digest, sig []byte) (r []byte, s *big.Int, err error) {
	if len(digest) != DigestSize {
		return nil, nil, ErrDigestSize
	}
	if len(sig) > MaxSignatureSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrBadSignature, len(sig))
	}
	s = new(big.Int)
	in, inner := cryptobyte.String(sig), cryptobyte.String(nil)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return nil, nil, fmt.Errorf("%w: malformed DER", ErrBadSignature)
	}
	if s.Sign() <= 0 || s.Cmp(halfOrder) > 0 {
		return nil, nil, ErrHighS
	}
	return r, s, nil
}
