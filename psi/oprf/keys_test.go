package oprf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

func TestKeyRoundTrip(t *testing.T) {
	sk, err := GenerateKey(nil) // nil: crypto/rand
	if err != nil {
		t.Fatal(err)
	}
	skBytes, err := sk.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var sk2 PrivateKey
	if err := sk2.UnmarshalBinary(skBytes); err != nil {
		t.Fatal(err)
	}
	if !sk2.Public().Equal(sk.Public()) {
		t.Fatal("private key round trip changed the public key")
	}
	pkBytes, err := sk.Public().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var pk PublicKey
	if err := pk.UnmarshalBinary(pkBytes); err != nil {
		t.Fatal(err)
	}
	if !pk.Equal(sk.Public()) || pk.KeyID() != sk.Public().KeyID() {
		t.Fatal("public key round trip changed the key or its id")
	}
	other, _ := GenerateKey(rand.Reader)
	if pk.Equal(other.Public()) || pk.KeyID() == other.Public().KeyID() {
		t.Fatal("distinct keys compare equal")
	}
}

func TestKeyUnmarshalRejects(t *testing.T) {
	valid, _ := GenerateKey(rand.Reader)
	pkBytes, _ := valid.Public().MarshalBinary()
	tests := []struct {
		name    string
		private bool
		in      []byte
		want    error
	}{
		{"private: empty", true, nil, ErrInvalidPrivateKey},
		{"private: short", true, make([]byte, 31), ErrInvalidPrivateKey},
		{"private: trailing byte", true, append(bytes.Repeat([]byte{1}, 32), 0), ErrInvalidPrivateKey},
		{"private: zero", true, make([]byte, 32), ErrInvalidPrivateKey},
		{"private: non-canonical", true, nonCanonical, ErrInvalidPrivateKey},
		{"public: empty", false, nil, ErrInvalidPublicKey},
		{"public: trailing byte", false, append(clone(pkBytes), 0), ErrInvalidPublicKey},
		{"public: identity", false, make([]byte, 32), ErrInvalidPublicKey},
		{"public: non-canonical", false, nonCanonical, ErrInvalidPublicKey},
		{"public: not on the curve", false, with(pkBytes, func(b []byte) { clear(b); b[0] = 2; b[1] = 1 }), ErrInvalidPublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.private {
				err = new(PrivateKey).UnmarshalBinary(tt.in)
			} else {
				err = new(PublicKey).UnmarshalBinary(tt.in)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("zero values do not marshal", func(t *testing.T) {
		if _, err := new(PrivateKey).MarshalBinary(); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("private: error = %v", err)
		}
		if _, err := new(PublicKey).MarshalBinary(); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("public: error = %v", err)
		}
		if new(PublicKey).KeyID() != (KeyID{}) {
			t.Error("zero public key has a non-zero KeyID")
		}
	})
}

// TestKeyIDStable pins the key id of the RFC 9497 POPRF test key, so a change
// to the id's label or layout (which would orphan ledger registrations) fails.
func TestKeyIDStable(t *testing.T) {
	sk, err := DeriveKey(bytes.Repeat([]byte{0xa3}, 32), []byte("test key"))
	if err != nil {
		t.Fatal(err)
	}
	const want = "6926b1587fbb05f3749bd192e950ad70bf78cdf5cbea058c163a7e598c0919f9"
	id := sk.Public().KeyID()
	if got := hex.EncodeToString(id[:]); got != want {
		t.Fatalf("KeyID = %s, want %s", got, want)
	}
}

func TestDeriveKeyRejects(t *testing.T) {
	if _, err := DeriveKey(make([]byte, 31), nil); !errors.Is(err, ErrInvalidSeed) {
		t.Errorf("short seed: error = %v", err)
	}
	if _, err := DeriveKey(make([]byte, 32), make([]byte, MaxInfoLen+1)); !errors.Is(err, ErrInfoTooLong) {
		t.Errorf("long info: error = %v", err)
	}
}
