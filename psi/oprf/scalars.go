package oprf

import (
	cryptorand "crypto/rand"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"
)

// uniformSize is how many random bytes make one scalar: 64 bytes reduced
// modulo the ~2^252 group order leave a bias below 2^-259.
const uniformSize = 64

// readRandom fills b from rand, or from crypto/rand when rand is nil.
func readRandom(rand io.Reader, b []byte) error {
	if rand == nil {
		rand = cryptorand.Reader
	}
	if _, err := io.ReadFull(rand, b); err != nil {
		return fmt.Errorf("oprf: read randomness: %w", err)
	}
	return nil
}

// randomScalar is RFC 9497 RandomScalar. A zero result means the source is
// broken (probability 2^-252 otherwise), so it is an error, not a retry.
func randomScalar(rand io.Reader, dst *ristretto255.Scalar) error {
	var buf [uniformSize]byte
	if err := readRandom(rand, buf[:]); err != nil {
		return err
	}
	return setUniformNonZero(dst, buf[:])
}

// setUniformNonZero reduces 64 uniform bytes into dst, rejects zero, and
// wipes the bytes, which determine a secret scalar.
func setUniformNonZero(dst *ristretto255.Scalar, b []byte) error {
	_, _ = dst.SetUniformBytes(b)
	clear(b)
	var zero ristretto255.Scalar
	if dst.Equal(&zero) == 1 {
		return ErrRandomness
	}
	return nil
}

// batchInvert sets inv[i] = 1/s[i] with Montgomery's trick: one inversion
// and three multiplications per element. It runs in constant time (the
// blinds it inverts are secret); every s[i] must be non-zero.
func batchInvert(inv, s []ristretto255.Scalar) {
	if len(s) == 0 {
		return
	}
	// inv[i] = s[0]·…·s[i-1] (prefix products), acc = all of them.
	var acc, tmp ristretto255.Scalar
	acc.Set(&s[0])
	for i := 1; i < len(s); i++ {
		inv[i].Set(&acc)
		acc.Multiply(&acc, &s[i])
	}
	acc.Invert(&acc)
	for i := len(s) - 1; i > 0; i-- {
		tmp.Multiply(&acc, &inv[i])
		acc.Multiply(&acc, &s[i])
		inv[i].Set(&tmp)
	}
	inv[0].Set(&acc)
}
