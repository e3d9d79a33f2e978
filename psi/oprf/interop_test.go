package oprf

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"testing"

	"github.com/cloudflare/circl/group"
	circl "github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// circlPair returns circl's POPRF server and client for the same key as sk.
func circlPair(t testing.TB, sk *PrivateKey) (circl.PartialObliviousServer, circl.PartialObliviousClient) {
	t.Helper()
	skBytes, _ := sk.MarshalBinary()
	var csk circl.PrivateKey
	if err := csk.UnmarshalBinary(circl.SuiteRistretto255, skBytes); err != nil {
		t.Fatal(err)
	}
	return circl.NewPartialObliviousServer(circl.SuiteRistretto255, &csk),
		circl.NewPartialObliviousClient(circl.SuiteRistretto255, csk.Public())
}

func toCirclElements(t testing.TB, flat []byte) []group.Element {
	t.Helper()
	out := make([]group.Element, len(flat)/ElementSize)
	for i := range out {
		out[i] = group.Ristretto255.NewElement()
		if err := out[i].UnmarshalBinary(element(flat, i)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func fromCirclElements(t testing.TB, elems []group.Element) []byte {
	t.Helper()
	var flat []byte
	for _, e := range elems {
		b, err := e.MarshalBinaryCompress()
		if err != nil {
			t.Fatal(err)
		}
		flat = append(flat, b...)
	}
	return flat
}

// randomInputs returns n distinct-ish inputs of random lengths 0..64.
func randomInputs(rng *mrand.Rand, n int) [][]byte {
	inputs := make([][]byte, n)
	for i := range inputs {
		inputs[i] = make([]byte, rng.IntN(65))
		for j := range inputs[i] {
			inputs[i][j] = byte(rng.Uint32())
		}
	}
	return inputs
}

func TestInteropCircl(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	sizes := []int{1, 2, 17, 100, 257}
	if testing.Short() {
		sizes = []int{1, 17}
	}
	for _, n := range sizes {
		sk, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		info := fmt.Appendf(nil, "riskmesh/v1|black|%d", 20240000+n)
		inputs := randomInputs(rng, n)
		ev, err := NewEvaluatorWithRule(sk, info, ProofRFC9497)
		if err != nil {
			t.Fatal(err)
		}
		client, err := NewClientWithRule(sk.Public(), info, ProofRFC9497)
		if err != nil {
			t.Fatal(err)
		}
		cServer, cClient := circlPair(t, sk)

		// Reference outputs: circl's full evaluation must equal ours.
		want := make([][OutputSize]byte, n)
		if err := ev.EvaluateBatch(want, inputs); err != nil {
			t.Fatal(err)
		}
		for i, in := range inputs {
			got, err := cServer.FullEvaluate(in, info)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[i][:]) {
				t.Fatalf("n=%d: circl FullEvaluate(%d) differs from ours", n, i)
			}
		}

		for _, blinding := range []Blinding{BlindMultiplicative, BlindAdditive} {
			t.Run(fmt.Sprintf("OurClientCirclServer/%v/%d", blinding, n), func(t *testing.T) {
				st, blinded, err := blindWith(client, blinding)(rand.Reader, inputs)
				if err != nil {
					t.Fatal(err)
				}
				eval, err := cServer.Evaluate(&circl.EvaluationRequest{Elements: toCirclElements(t, blinded)}, info)
				if err != nil {
					t.Fatal(err)
				}
				proof, err := eval.Proof.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				outputs, err := client.Finalize(st, fromCirclElements(t, eval.Elements), proof)
				if err != nil {
					t.Fatalf("Finalize rejected circl's answer: %v", err)
				}
				for i := range outputs {
					if outputs[i] != want[i] {
						t.Fatalf("output %d differs", i)
					}
				}
			})
		}

		t.Run(fmt.Sprintf("CirclClientOurServer/%d", n), func(t *testing.T) {
			fin, req, err := cClient.Blind(inputs)
			if err != nil {
				t.Fatal(err)
			}
			blinded := fromCirclElements(t, req.Elements)
			evaluated, proof, err := ev.BlindEvaluate(rand.Reader, blinded)
			if err != nil {
				t.Fatal(err)
			}
			if err := client.VerifyProof(blinded, evaluated, proof[:]); err != nil {
				t.Fatalf("VerifyProof: %v", err)
			}
			cProof := new(dleq.Proof)
			if err := cProof.UnmarshalBinary(group.Ristretto255, proof[:]); err != nil {
				t.Fatal(err)
			}
			outputs, err := cClient.Finalize(fin, &circl.Evaluation{Elements: toCirclElements(t, evaluated), Proof: cProof}, info)
			if err != nil {
				t.Fatalf("circl rejected our answer: %v", err)
			}
			for i := range outputs {
				if !bytes.Equal(outputs[i], want[i][:]) {
					t.Fatalf("output %d differs", i)
				}
			}
		})
	}
}

// TestSingleCore runs whole batches with one P, where the workers' chunking
// takes its sequential path.
func TestSingleCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := newSession(t, 3*chunkSize+5)
	outputs, err := s.client.Finalize(s.state, s.evaluated, s.proof)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][OutputSize]byte, len(s.inputs))
	if err := s.ev.EvaluateBatch(want, s.inputs); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if outputs[i] != want[i] {
			t.Fatalf("output %d differs from full evaluation", i)
		}
	}
}
