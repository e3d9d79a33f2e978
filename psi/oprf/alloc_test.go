package oprf

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// TestAllocationsPerItem pins the hot paths' allocation budget: every step
// allocates O(1) per batch and nothing per item.
func TestAllocationsPerItem(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting runs whole batches")
	}
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	s := newSession(t, 1)
	const small, large = 64, 128 // both split across the same number of workers
	batch := func(n int) [][]byte {
		in := make([][]byte, n)
		for i := range in {
			in[i] = fmt.Appendf(nil, "device:%d", i)
		}
		return in
	}
	type step func(inputs [][]byte) func()
	steps := []struct {
		name  string
		setup step
	}{
		{"Blind", func(in [][]byte) func() {
			return func() { _, _, _ = s.client.Blind(rand.Reader, in) }
		}},
		{"BlindEvaluate", func(in [][]byte) func() {
			_, blinded, _ := s.client.Blind(rand.Reader, in)
			return func() { _, _, _ = s.ev.BlindEvaluate(rand.Reader, blinded) }
		}},
		{"BlindAdditive", func(in [][]byte) func() {
			return func() { _, _, _ = s.client.BlindAdditive(rand.Reader, in) }
		}},
		{"Finalize", finalizeStep(t, s, BlindMultiplicative)},
		{"FinalizeAdditive", finalizeStep(t, s, BlindAdditive)},
		{"EvaluateBatch", func(in [][]byte) func() {
			out := make([][OutputSize]byte, len(in))
			return func() { _ = s.ev.EvaluateBatch(out, in) }
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a := testing.AllocsPerRun(3, st.setup(batch(small)))
			b := testing.AllocsPerRun(3, st.setup(batch(large)))
			perItem := (b - a) / (large - small)
			// A little slack for goroutine scheduling noise, below one
			// allocation per four items (one per block of 128-bit weights).
			if perItem > 0.2 {
				t.Fatalf("%.2f allocations per item, want none", perItem)
			}
		})
	}
}

// finalizeStep prepares Finalize runs of states made under blinding: a state is
// finalised once, so one answered request per run (AllocsPerRun(3, f) calls
// f four times).
func finalizeStep(t *testing.T, s *session, blinding Blinding) func([][]byte) func() {
	blind := blindWith(s.client, blinding)
	return func(in [][]byte) func() {
		type answered struct {
			st        *BlindState
			evaluated []byte
			proof     [ProofSize]byte
		}
		var runs []answered
		for range 4 {
			st, blinded, _ := blind(rand.Reader, in)
			evaluated, proof, _ := s.ev.BlindEvaluate(rand.Reader, blinded)
			runs = append(runs, answered{st, evaluated, proof})
		}
		return func() {
			a := runs[0]
			runs = runs[1:]
			if _, err := s.client.Finalize(a.st, a.evaluated, a.proof[:]); err != nil {
				t.Fatal(err)
			}
		}
	}
}
