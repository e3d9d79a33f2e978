package ristretto

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// TestFromUniformBytesAgrees: FromUniformBytes gives ristretto255's
// SetUniformBytes element for random inputs and for the edge values of
// each half (zero, one, p - 1, p and above, the top bit set).
func TestFromUniformBytesAgrees(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{7})
	halves := [][]byte{
		make([]byte, 32),
		append([]byte{1}, make([]byte, 31)...),
		bytes.Repeat([]byte{0xff}, 32),
		append([]byte{0xec}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...), // p - 1
		append([]byte{0xed}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...), // p
	}
	var inputs [][UniformSize]byte
	for _, a := range halves {
		for _, b := range halves {
			var u [UniformSize]byte
			copy(u[:32], a)
			copy(u[32:], b)
			inputs = append(inputs, u)
		}
	}
	for range 300 {
		var u [UniformSize]byte
		_, _ = rng.Read(u[:])
		inputs = append(inputs, u)
	}
	for i, u := range inputs {
		var p edwards25519.Point
		if err := FromUniformBytes(&p, &u); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		want, err := new(ristretto255.Element).SetUniformBytes(u[:])
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeOne(&p); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("input %d (%x): got %x, want %x", i, u, got, want.Bytes())
		}
	}
}
