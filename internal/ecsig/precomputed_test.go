package ecsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
)

// sameVerdict fails unless the precomputed key and VerifyKey both accept
// (digest, sig) or both refuse it with the same error class.
func sameVerdict(t testing.TB, pk *PrecomputedKey, key *ecdsa.PublicKey, digest, sig []byte) error {
	t.Helper()
	want := VerifyKey(key, digest, sig)
	got := pk.Verify(digest, sig)
	for _, class := range []error{nil, ErrDigestSize, ErrHighS, ErrBadSignature} {
		if (class == nil && (want == nil) != (got == nil)) || (class != nil && errors.Is(want, class) != errors.Is(got, class)) {
			t.Fatalf("digest %x sig %x: precomputed %v, VerifyKey %v", digest, sig, got, want)
		}
	}
	return got
}

func derSig(r, s *big.Int) []byte {
	b, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	return b
}

// TestPrecomputedKeyAgreesWithVerifyKey checks the precomputed verifier
// against VerifyKey (crypto/ecdsa) on valid signatures, on every single
// bit flip of one, and on the edge cases of the equation: r or s zero, at
// or past the group order, high S, a wrong key, and signatures whose
// u1·G + u2·Q is the point at infinity.
func TestPrecomputedKeyAgreesWithVerifyKey(t *testing.T) {
	priv, pub := newKey(t)
	key, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := Precompute(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newKey(t)
	sign := NewSigner(priv, rand.Reader)
	n := elliptic.P256().Params().N

	t.Run("valid", func(t *testing.T) {
		for i := range 200 {
			digest := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
			sig, err := sign(digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := sameVerdict(t, pk, key, digest[:], sig); err != nil {
				t.Fatalf("valid signature %d refused: %v", i, err)
			}
			otherSig, _ := NewSigner(other, rand.Reader)(digest[:])
			if sameVerdict(t, pk, key, digest[:], otherSig) == nil {
				t.Fatal("another key's signature accepted")
			}
		}
	})
	digest := sha256.Sum256([]byte("riskmesh"))
	sig, _ := sign(digest[:])
	t.Run("bit flips", func(t *testing.T) {
		for i := range len(sig) * 8 {
			s := append([]byte(nil), sig...)
			s[i/8] ^= 1 << (i % 8)
			sameVerdict(t, pk, key, digest[:], s)
			d := digest
			d[i%32] ^= 1 << (i % 8)
			if sameVerdict(t, pk, key, d[:], sig) == nil {
				t.Fatalf("signature verified over a digest with bit %d flipped", i)
			}
		}
	})
	t.Run("edges", func(t *testing.T) {
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err != nil {
			t.Fatal(err)
		}
		one := big.NewInt(1)
		for _, c := range []struct{ r, s *big.Int }{
			{big.NewInt(0), rs.S}, {rs.R, big.NewInt(0)},
			{n, rs.S}, {new(big.Int).Add(rs.R, n), rs.S}, {new(big.Int).Sub(n, one), rs.S},
			{rs.R, new(big.Int).Sub(n, rs.S)}, {rs.R, new(big.Int).Rsh(n, 1)}, {one, one},
			{new(big.Int).Neg(rs.R), rs.S}, {rs.R, new(big.Int).Neg(rs.S)},
		} {
			if sameVerdict(t, pk, key, digest[:], derSig(c.r, c.s)) == nil {
				t.Fatalf("r %v s %v accepted", c.r, c.s)
			}
		}
		sameVerdict(t, pk, key, digest[:31], sig)
		sameVerdict(t, pk, key, digest[:], append(append([]byte(nil), sig...), 0))
	})
	t.Run("point at infinity", func(t *testing.T) {
		// With e = −r·d mod n, u1 + u2·d = w·(e + r·d) = 0: the sum is
		// the point at infinity for every s, and must be refused.
		raw, err := priv.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		d := new(big.Int).SetBytes(raw)
		for i := range 20 {
			r := new(big.Int).SetInt64(int64(1000 + i))
			e := new(big.Int).Mul(r, d)
			e.Neg(e).Mod(e, n)
			var dg [32]byte
			e.FillBytes(dg[:])
			s := new(big.Int).SetInt64(int64(7 + i))
			if sameVerdict(t, pk, key, dg[:], derSig(r, s)) == nil {
				t.Fatal("a signature summing to the point at infinity was accepted")
			}
		}
	})
}

func TestPrecomputeRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Precompute(&k.PublicKey); !errors.Is(err, ErrPublicKey) {
		t.Fatalf("Precompute(P-384 key) = %v, want ErrPublicKey", err)
	}
	if _, err := Precompute(nil); !errors.Is(err, ErrPublicKey) {
		t.Fatalf("Precompute(nil) = %v, want ErrPublicKey", err)
	}
}

// FuzzPrecomputedVerify checks that the precomputed verifier gives
// VerifyKey's verdict on any signature bytes and digest.
func FuzzPrecomputedVerify(f *testing.F) {
	priv, pub := newKey(f)
	key, err := ParsePublicKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	pk, err := Precompute(key)
	if err != nil {
		f.Fatal(err)
	}
	digest := sha256.Sum256([]byte("fuzz"))
	sig, _ := NewSigner(priv, rand.Reader)(digest[:])
	f.Add(digest[:], sig)
	f.Add(digest[:], []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, digest, sig []byte) {
		sameVerdict(t, pk, key, digest, sig)
	})
}

func BenchmarkVerify(b *testing.B) {
	priv, pub := newKey(b)
	key, _ := ParsePublicKey(pub)
	digest := sha256.Sum256([]byte("bench"))
	sig, _ := NewSigner(priv, rand.Reader)(digest[:])
	b.Run("VerifyKey", func(b *testing.B) {
		for b.Loop() {
			if VerifyKey(key, digest[:], sig) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Precomputed", func(b *testing.B) {
		pk, _ := Precompute(key)
		for b.Loop() {
			if pk.Verify(digest[:], sig) != nil {
				b.Fatal("refused")
			}
		}
	})
	// The DER key as the registry holds it: parsed on every call, as
	// Verify did before Keys, and through Keys (parsed once, a table
	// from the TableFrom-th call).
	b.Run("ParseAndVerifyKey", func(b *testing.B) {
		for b.Loop() {
			k, err := ParsePublicKey(pub)
			if err != nil || VerifyKey(k, digest[:], sig) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Keys", func(b *testing.B) {
		var ks Keys
		for b.Loop() {
			if ks.VerifyAny([][]byte{pub}, digest[:], sig) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Precompute", func(b *testing.B) {
		for b.Loop() {
			if _, err := Precompute(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
