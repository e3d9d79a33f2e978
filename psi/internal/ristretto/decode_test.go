package ristretto

import (
	"bytes"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// TestDecodeAgrees: Decode accepts and rejects exactly what ristretto255
// does (the identity rejected), with the same error, and what it accepts
// re-encodes to the input.
func TestDecodeAgrees(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{9})
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	le := func(v *big.Int) []byte {
		b := make([]byte, 32)
		v.FillBytes(b)
		slices.Reverse(b)
		return b
	}
	var inputs [][]byte
	for range 200 {
		// Valid encodings, and the same s negated (p - s is odd: negative).
		enc := randomElement(t, rng).Bytes()
		inputs = append(inputs, enc)
		be := slices.Clone(enc)
		slices.Reverse(be)
		s := new(big.Int).SetBytes(be)
		inputs = append(inputs, le(new(big.Int).Sub(p, s)))
		// s + p where it fits in 256 bits: the same value, not canonical.
		if sp := new(big.Int).Add(s, p); sp.BitLen() <= 256 {
			inputs = append(inputs, le(sp))
		}
		// Random strings: most are not squares or not canonical.
		r := make([]byte, 32)
		_, _ = rng.Read(r)
		inputs = append(inputs, r)
		r = slices.Clone(r)
		r[0] &^= 1 // even s: non-negative, so only squareness decides
		r[31] &= 0x7f
		inputs = append(inputs, r)
	}
	generator := ristretto255.NewGeneratorElement().Bytes()
	inputs = append(inputs, make([]byte, 32), nonCanonical, le(p), le(new(big.Int).Sub(p, big.NewInt(1))),
		le(big.NewInt(1)), le(big.NewInt(2)), generator, make([]byte, 31), make([]byte, 33))
	accepted := 0
	for i, in := range inputs {
		var q edwards25519.Point
		got := Decode(&q, in)
		want := decodeReference(in)
		if (got == nil) != (want == nil) || got != nil && !errors.Is(got, want) {
			t.Fatalf("input %d (%x): Decode %v, ristretto255 %v", i, in, got, want)
		}
		if got != nil {
			continue
		}
		accepted++
		if enc := encodeOne(&q); !bytes.Equal(enc, in) {
			t.Fatalf("input %d: decoded %x re-encodes to %x", i, in, enc)
		}
	}
	if accepted < 200 || accepted == len(inputs) {
		t.Fatalf("accepted %d of %d inputs: the cases do not cover both outcomes", accepted, len(inputs))
	}
}

// FuzzDecode: Decode agrees with ristretto255's decoding on any bytes, and
// what it accepts re-encodes to the input.
func FuzzDecode(f *testing.F) {
	f.Add(ristretto255.NewGeneratorElement().Bytes())
	f.Add(make([]byte, 32))
	f.Add(nonCanonical)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var q edwards25519.Point
		got := Decode(&q, data)
		want := decodeReference(data)
		if (got == nil) != (want == nil) || got != nil && !errors.Is(got, want) {
			t.Fatalf("Decode %v, ristretto255 %v", got, want)
		}
		if got == nil && !bytes.Equal(encodeOne(&q), data) {
			t.Fatal("accepted encoding does not round-trip")
		}
	})
}
