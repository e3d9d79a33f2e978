package dleq_test

import (
	"fmt"
	mathrand "math/rand/v2"
	"testing"

	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/psi/dleq"
)

// BenchmarkProof measures one proof over a batch of n, the prover's and the
// verifier's side; µs/item is wall time per element of the batch, and
// cpu-µs/item the process's CPU time per element, which stays meaningful
// when other processes share the cores.
func BenchmarkProof(b *testing.B) {
	for _, n := range []int{256, 1000, 4096} {
		rng := mathrand.NewChaCha8([32]byte{1})
		k := scalar(rng)
		t := &testing.T{}
		bases, images, bd, id, com := batch(t, rng, k, n)
		b.Run(fmt.Sprintf("Prove/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if _, err := dleq.Prove(suite, k, &com, bases, images, bd, rng); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/item")
			b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/float64(b.N*n), "cpu-µs/item")
		})
		proof, _ := dleq.Prove(suite, k, &com, bases, images, bd, rng)
		b.Run(fmt.Sprintf("Verify/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if err := dleq.Verify(suite, &com, bases, images, bd, id, &proof); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/item")
			b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/float64(b.N*n), "cpu-µs/item")
		})
	}
}
