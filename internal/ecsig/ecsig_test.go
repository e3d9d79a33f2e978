package ecsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"testing"
)

func newKey(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, der, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func TestGenerateKey(t *testing.T) {
	for _, tt := range []struct {
		name string
		rand io.Reader
	}{{"crypto/rand", rand.Reader}, {"nil reader", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			key, der, err := GenerateKey(tt.rand)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(der)
			if err != nil {
				t.Fatalf("returned key does not parse as PKIX DER P-256: %v", err)
			}
			if !pub.Equal(&key.PublicKey) {
				t.Fatal("returned DER is not the private key's public key")
			}
			digest := sha256.Sum256([]byte("generated"))
			sig, err := NewSigner(key, rand.Reader)(digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(der, digest[:], sig); err != nil {
				t.Fatalf("signature does not verify against the returned DER: %v", err)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	key, pub := newKey(t)
	_, otherPub := newKey(t)
	digest := sha256.Sum256([]byte("riskmesh"))
	sig, err := NewSigner(key, rand.Reader)(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), sig...)
	flipped[len(flipped)-1] ^= 1
	otherDigest := sha256.Sum256([]byte("other"))

	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		t.Fatal(err)
	}
	highS, _ := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S)})

	tests := []struct {
		name   string
		pub    []byte
		digest []byte
		sig    []byte
		want   error
	}{
		{"valid", pub, digest[:], sig, nil},
		{"other key", otherPub, digest[:], sig, ErrBadSignature},
		{"other digest", pub, otherDigest[:], sig, ErrBadSignature},
		{"flipped bit", pub, digest[:], flipped, ErrBadSignature},
		{"high S twin", pub, digest[:], highS, ErrHighS},
		{"trailing byte", pub, digest[:], append(append([]byte(nil), sig...), 0), ErrBadSignature},
		{"short digest", pub, digest[:31], sig, ErrDigestSize},
		{"garbage key", []byte{1, 2, 3}, digest[:], sig, ErrPublicKey},
		{"empty signature", pub, digest[:], nil, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.pub, tt.digest, tt.sig)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignerAlwaysLowS(t *testing.T) {
	key, pub := newKey(t)
	assertVerifies(t, NewSigner(key, rand.Reader), pub, 64)
}

// assertVerifies signs n digests and verifies each; Verify refuses a
// high S, so passing means every signature was normalised.
func assertVerifies(t *testing.T, sign Sign, pub []byte, n int) {
	t.Helper()
	for i := range n {
		digest := sha256.Sum256([]byte{byte(i)})
		sig, err := sign(digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(pub, digest[:], sig); err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	key, pub := newKey(f)
	digest := sha256.Sum256([]byte("fuzz"))
	sig, _ := NewSigner(key, rand.Reader)(digest[:])
	f.Add(pub, sig)
	f.Add([]byte{}, []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, pub, sig []byte) {
		// Any input must yield nil or an error, never a panic.
		_ = Verify(pub, digest[:], sig)
	})
}

// highS signs like a token that does not normalise S: it always returns
// the high-S form of the signature.
type highS struct{ key *ecdsa.PrivateKey }

func (h highS) Public() crypto.PublicKey { return &h.key.PublicKey }

func (h highS) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := ecdsa.Sign(rand.Reader, h.key, digest)
	if err != nil {
		return nil, err
	}
	if s.Cmp(halfOrder) <= 0 {
		s = new(big.Int).Sub(elliptic.P256().Params().N, s)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// garbage returns what is not a DER signature.
type garbage struct{ highS }

func (garbage) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return []byte{0x30, 0x03, 0x02, 0x01, 0x01}, nil
}

func TestFromSigner(t *testing.T) {
	key, pub := newKey(t)
	sign := FromSigner(highS{key})
	assertVerifies(t, sign, pub, 16)
	t.Run("digest size", func(t *testing.T) {
		if _, err := sign(make([]byte, 31)); !errors.Is(err, ErrDigestSize) {
			t.Fatalf("31-byte digest: %v, want ErrDigestSize", err)
		}
	})
	t.Run("malformed signer output", func(t *testing.T) {
		digest := sha256.Sum256([]byte("x"))
		if _, err := FromSigner(garbage{highS{key}})(digest[:]); err == nil {
			t.Fatal("a malformed signature from the signer was passed on")
		}
	})
}
