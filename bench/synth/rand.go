package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// newRand returns the deterministic generator for one named stream of a
// seed. Streams are separate so that, for example, drawing a batch never
// shifts the lists. ChaCha8 is used for its quality and speed, not for
// secrecy: everything here is test data, and the seed is not a secret.
func newRand(seed uint64, stream string) *rand.Rand {
	h := sha256.New()
	h.Write([]byte("riskmesh/synth/v1|" + stream + "|"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return rand.New(rand.NewChaCha8(s))
}

// weighted draws index i with probability w[i]/sum(w); sum must be positive.
func weighted(r *rand.Rand, w []int, sum int) int {
	x := r.IntN(sum)
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}
