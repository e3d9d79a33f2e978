package dleq_test

import (
	"fmt"
	mathrand "math/rand/v2"
	"testing"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// BenchmarkProof measures one proof over a batch of n, the prover's and the
// verifier's side; µs/item is per element of the batch.
func BenchmarkProof(b *testing.B) {
	for _, n := range []int{256, 4096} {
		rng := mathrand.NewChaCha8([32]byte{1})
		k := scalar(rng)
		t := &testing.T{}
		bases, images, bd, id, com := batch(t, rng, k, n)
		b.Run(fmt.Sprintf("Prove/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dleq.Prove(suite, k, &com, bases, images, bd, rng); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/item")
		})
		proof, _ := dleq.Prove(suite, k, &com, bases, images, bd, rng)
		b.Run(fmt.Sprintf("Verify/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := dleq.Verify(suite, &com, bases, images, bd, id, &proof); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/item")
		})
	}
}
