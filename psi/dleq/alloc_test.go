package dleq_test

import (
	mathrand "math/rand/v2"
	"testing"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// TestAllocationsPerItem pins the proofs' allocation budget: O(1) per
// proof, nothing per item or per chunk of weights (whose block hashes once
// allocated a SHA-512 state a chunk).
func TestAllocationsPerItem(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting runs whole proofs")
	}
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	const small, large = 1024, 4096
	type step struct {
		name string
		run  func(n int) func()
	}
	rng := mathrand.NewChaCha8([32]byte{5})
	k := scalar(rng)
	steps := []step{
		{"Prove", func(n int) func() {
			bases, images, bd, _, com := batch(t, rng, k, n)
			return func() { _, _ = dleq.Prove(suite, k, &com, bases, images, bd, rng) }
		}},
		{"Verify", func(n int) func() {
			bases, images, bd, id, com := batch(t, rng, k, n)
			proof, err := dleq.Prove(suite, k, &com, bases, images, bd, rng)
			if err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := dleq.Verify(suite, &com, bases, images, bd, id, &proof); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a := testing.AllocsPerRun(3, st.run(small))
			b := testing.AllocsPerRun(3, st.run(large))
			// One allocation per 64-item chunk would be 0.016 an item.
			if perItem := (b - a) / (large - small); perItem > 0.005 {
				t.Fatalf("%.4f allocations per item (%.0f at %d, %.0f at %d), want none", perItem, a, small, b, large)
			}
		})
	}
}
