package oprf

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/edwards25519"
)

// aheadCase blinds n random inputs additively and returns the state, the
// honest answer and the full evaluation's outputs.
func aheadCase(t *testing.T, s *session, rng *mrand.Rand, n int) (*BlindState, []byte, []byte, [][OutputSize]byte) {
	t.Helper()
	inputs := randomInputs(rng, n)
	want := make([][OutputSize]byte, n)
	if err := s.ev.EvaluateBatch(want, inputs); err != nil {
		t.Fatal(err)
	}
	st, blinded, err := s.client.BlindAdditive(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, blinded)
	if err != nil {
		t.Fatal(err)
	}
	return st, evaluated, proof[:], want
}

// checkOutputs fails unless got equals want item by item.
func checkOutputs(t *testing.T, got, want [][OutputSize]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("output %d differs from the full evaluation", i)
		}
	}
}

// Unblinding terms computed ahead give the full evaluation's outputs,
// whether the goroutine finished every term or Finalize computes the ones
// past where it stopped; terms past that point are never used.
func TestPrecomputeUnblindOutputs(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 8))
	s := newSession(t, 1)
	for _, n := range []int{1, 17, 3*chunkSize + 5} {
		for _, keep := range []int{n, n / 2, 0} {
			t.Run(fmt.Sprintf("%d items, %d ahead", n, keep), func(t *testing.T) {
				st, evaluated, proof, want := aheadCase(t, s, rng, n)
				st.PrecomputeUnblind()
				<-st.ahead.stopped
				if st.ahead.done != n {
					t.Fatalf("the goroutine computed %d terms of %d", st.ahead.done, n)
				}
				// As if it had been stopped after keep terms: the rest
				// hold garbage Finalize must not read.
				st.ahead.done = keep
				for i := keep; i < n; i++ {
					st.ahead.terms[i].Set(edwards25519.NewGeneratorPoint())
				}
				outputs, err := s.client.Finalize(st, evaluated, proof)
				if err != nil {
					t.Fatal(err)
				}
				checkOutputs(t, outputs, want)
				for i := range st.ahead.terms[:keep] {
					if !reflect.ValueOf(st.ahead.terms[i]).IsZero() {
						t.Fatalf("term %d survived Finalize", i)
					}
				}
			})
		}
	}
}

// A multiplicative state has nothing to compute ahead; a finalised state
// is not started again (its blinds are wiped).
func TestPrecomputeUnblindDoesNothing(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(9, 10))
	s := newSession(t, 1)
	inputs := randomInputs(rng, 3)
	st, _, err := s.client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	st.PrecomputeUnblind()
	if st.ahead.started {
		t.Fatal("a multiplicative state started computing unblinding terms")
	}

	st, evaluated, proof, want := aheadCase(t, s, rng, 3)
	outputs, err := s.client.Finalize(st, evaluated, proof)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, outputs, want)
	st.PrecomputeUnblind()
	if st.ahead.started {
		t.Fatal("a finalised state started computing unblinding terms")
	}
	var nilState *BlindState
	nilState.PrecomputeUnblind() // no panic
}

// PrecomputeUnblind racing Finalize and itself (the race detector
// watches): every outcome finalises correctly, and a state is finalised
// once.
func TestPrecomputeUnblindConcurrent(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(13, 14))
	s := newSession(t, 1)
	for range 8 {
		st, evaluated, proof, want := aheadCase(t, s, rng, 2*chunkSize)
		var wg sync.WaitGroup
		wg.Go(st.PrecomputeUnblind)
		wg.Go(st.PrecomputeUnblind)
		results := make(chan error, 2)
		var finalised atomic.Int32
		for range 2 {
			wg.Go(func() {
				outputs, err := s.client.Finalize(st, evaluated, proof)
				if err == nil {
					finalised.Add(1)
					for i := range outputs {
						if outputs[i] != want[i] {
							err = fmt.Errorf("output %d differs", i)
						}
					}
				} else if errors.Is(err, ErrStateUsed) {
					err = nil
				}
				results <- err
			})
		}
		wg.Wait()
		close(results)
		for err := range results {
			if err != nil {
				t.Fatal(err)
			}
		}
		if finalised.Load() != 1 || !st.ahead.taken {
			t.Fatalf("%d Finalize calls succeeded (taken %v), want 1", finalised.Load(), st.ahead.taken)
		}
	}
}
