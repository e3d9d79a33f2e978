package oprf

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"

	r255 "github.com/bwesterb/go-ristretto"
	"github.com/gtank/ristretto255"
)

// blindWith returns the client's Blind or BlindAdditive.
func blindWith(c *Client, b Blinding) func(io.Reader, [][]byte) (*BlindState, []byte, error) {
	if b == BlindAdditive {
		return c.BlindAdditive
	}
	return c.Blind
}

// The two blindings send unrelated elements for the same inputs and reach
// byte-identical outputs, equal to the evaluator's full evaluation.
func TestBlindingsGiveEqualOutputs(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, n := range []int{1, 17, 3*chunkSize + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSession(t, 1)
			inputs := randomInputs(rng, n)
			want := make([][OutputSize]byte, n)
			if err := s.ev.EvaluateBatch(want, inputs); err != nil {
				t.Fatal(err)
			}
			sent := make(map[Blinding][]byte)
			for _, b := range []Blinding{BlindMultiplicative, BlindAdditive} {
				st, blinded, err := blindWith(s.client, b)(rand.Reader, inputs)
				if err != nil {
					t.Fatal(err)
				}
				sent[b] = blinded
				evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, blinded)
				if err != nil {
					t.Fatal(err)
				}
				outputs, err := s.client.Finalize(st, evaluated, proof[:])
				if err != nil {
					t.Fatalf("%v: Finalize: %v", b, err)
				}
				for i := range outputs {
					if outputs[i] != want[i] {
						t.Fatalf("%v: output %d differs from the full evaluation", b, i)
					}
				}
			}
			for i := range n {
				if string(element(sent[BlindMultiplicative], i)) == string(element(sent[BlindAdditive], i)) {
					t.Fatalf("element %d is the same under both blindings", i)
				}
			}
		})
	}
}

// hashToPoint (go-ristretto, additive blinding) and hashToGroup
// (ristretto255, everything else) are one function.
func TestHashToPointMatchesHashToGroup(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, in := range append(randomInputs(rng, 200), nil, make([]byte, MaxInputLen)) {
		var e ristretto255.Element
		poprf.hashToGroup(&e, in)
		var p r255.Point
		if !poprf.hashToPoint(&p, in) {
			t.Fatalf("hashToPoint(%x) is the identity", in)
		}
		if got, want := p.Bytes(), e.Bytes(); string(got) != string(want) {
			t.Fatalf("hashToPoint(%x) = %x, hashToGroup = %x", in, got, want)
		}
	}
}

// unverifiedUnblind is what a requester that skipped the proof would
// compute from an additive state: C_i − r_i·G.
func unverifiedUnblind(t *testing.T, st *BlindState, evaluated []byte) [][ElementSize]byte {
	t.Helper()
	out := make([][ElementSize]byte, len(st.inputs))
	for i := range out {
		var c, rg ristretto255.Element
		if err := decodeElement(&c, element(evaluated, i)); err != nil {
			t.Fatal(err)
		}
		rg.ScalarBaseMult(&st.blinds[i])
		c.Subtract(&c, &rg)
		copy(out[i][:], c.Bytes())
	}
	return out
}

// TestAdversaryAdditiveWrongKey plays a provider that answers an additive
// request under a key other than the verified one (another key, another
// period's tweak), with and without the unblinding terms computed while
// the answer is awaited: Finalize rejects it by the proof, before any
// unblinding, and the state, terms included, still takes the honest
// answer. It also shows
// why the proof must come first: unblinded without it, the wrong key's
// answer is not even a PRF of the input, but noise that depends on the
// blinds, so the requester would silently miss listed identifiers.
func TestAdversaryAdditiveWrongKey(t *testing.T) {
	s := newSession(t, 1)
	inputs := [][]byte{[]byte("phone:+8613800138000"), []byte("phone:+8613800138000"), []byte("email:a@b.example")}
	want := make([][OutputSize]byte, len(inputs))
	if err := s.ev.EvaluateBatch(want, inputs); err != nil {
		t.Fatal(err)
	}
	rogueKey, _ := GenerateKey(rand.Reader)
	rogue, _ := NewEvaluator(rogueKey, s.info)
	otherPeriod, _ := NewEvaluator(s.sk, []byte("riskmesh/v1|black|20250102"))
	for name, dishonest := range map[string]*Evaluator{"another key": rogue, "another period": otherPeriod} {
		for _, ahead := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ahead %v", name, ahead), func(t *testing.T) {
				st, blinded, err := s.client.BlindAdditive(rand.Reader, inputs)
				if err != nil {
					t.Fatal(err)
				}
				if ahead {
					st.PrecomputeUnblind()
				}
				evaluated, proof, err := dishonest.BlindEvaluate(rand.Reader, blinded)
				if err != nil {
					t.Fatal(err)
				}
				if outputs, err := s.client.Finalize(st, evaluated, proof[:]); !errors.Is(err, ErrProofVerification) || outputs != nil {
					t.Fatalf("Finalize = %d outputs, %v; want ErrProofVerification", len(outputs), err)
				}
				if st.ahead.taken {
					t.Fatal("a rejected answer took the unblinding terms")
				}

				// Unverified, inputs 0 and 1 (equal) come out different and
				// neither is the dishonest key's own evaluation.
				raw := unverifiedUnblind(t, st, evaluated)
				var direct ristretto255.Element
				dishonest.p.hashToGroup(&direct, inputs[0])
				direct.ScalarMult(&dishonest.mult, &direct)
				if raw[0] == raw[1] || string(raw[0][:]) == string(direct.Bytes()) {
					t.Fatal("the wrong key's answer unblinds to a function of the input alone")
				}

				evaluated, proof, err = s.ev.BlindEvaluate(rand.Reader, blinded)
				if err != nil {
					t.Fatal(err)
				}
				outputs, err := s.client.Finalize(st, evaluated, proof[:])
				if err != nil {
					t.Fatalf("honest answer after a rejected one: %v", err)
				}
				for i := range outputs {
					if outputs[i] != want[i] {
						t.Fatalf("output %d differs", i)
					}
				}
			})
		}
	}
}

// Additive blinding needs the evaluator's key, which only the verifiable
// modes have; the package offers it in POPRF only.
func TestBlindAdditiveNeedsPOPRF(t *testing.T) {
	sk, _ := GenerateKey(rand.Reader)
	for _, p := range []*params{oprf, voprf} {
		c, err := newClient(p, sk.Public(), nil, ProofBinding)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.BlindAdditive(rand.Reader, [][]byte{{1}}); !errors.Is(err, ErrBlinding) {
			t.Fatalf("mode %d: BlindAdditive = %v, want ErrBlinding", p.mode, err)
		}
		if c.PrecomputeAdditive(); c.table.Load() != nil {
			t.Fatalf("mode %d: PrecomputeAdditive built a table", p.mode)
		}
	}
}

// Concurrent first uses of a Client, and a PrecomputeAdditive among them,
// build its table once (the race detector watches) and every batch
// finalises correctly.
func TestAdditiveTableConcurrentFirstUse(t *testing.T) {
	s := newSession(t, 1)
	c, err := NewClient(s.sk.Public(), s.info)
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{[]byte("a"), []byte("b")}
	want := make([][OutputSize]byte, len(inputs))
	if err := s.ev.EvaluateBatch(want, inputs); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Go(c.PrecomputeAdditive)
	for range 4 {
		wg.Go(func() {
			st, blinded, err := c.BlindAdditive(rand.Reader, inputs)
			if err != nil {
				errs <- err
				return
			}
			evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, blinded)
			if err != nil {
				errs <- err
				return
			}
			outputs, err := c.Finalize(st, evaluated, proof[:])
			if err != nil {
				errs <- err
				return
			}
			for i := range outputs {
				if outputs[i] != want[i] {
					errs <- fmt.Errorf("output %d differs", i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// An additive state unblinds correctly only under the key it was blinded
// with: another Client (another key, or the same key for another period)
// refuses it even with an honest answer under its own key, where a
// multiplicative state would finalise under that key.
func TestAdditiveStateKeepsItsKey(t *testing.T) {
	s := newSession(t, 1)
	otherKey, _ := GenerateKey(rand.Reader)
	others := map[string]struct {
		key  *PrivateKey
		info []byte
	}{
		"another key":    {otherKey, s.info},
		"another period": {s.sk, []byte("riskmesh/v1|black|20250102")},
	}
	inputs := [][]byte{[]byte("phone:+8613800138000")}
	for name, o := range others {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(o.key.Public(), o.info)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := NewEvaluator(o.key, o.info)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []Blinding{BlindMultiplicative, BlindAdditive} {
				st, blinded, err := blindWith(s.client, b)(rand.Reader, inputs)
				if err != nil {
					t.Fatal(err)
				}
				evaluated, proof, err := ev.BlindEvaluate(rand.Reader, blinded)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Finalize(st, evaluated, proof[:])
				if b == BlindAdditive && !errors.Is(err, ErrStateKey) {
					t.Fatalf("additive state finalised by another Client: %v, want ErrStateKey", err)
				}
				if b == BlindMultiplicative && err != nil {
					t.Fatalf("multiplicative state under another honest key: %v", err)
				}
			}
		})
	}
}
