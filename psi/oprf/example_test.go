package oprf_test

import (
	"bytes"
	"fmt"

	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A provider evaluates a requester's blinded batch under (category, period)
// info; the requester verifies the batched proof and gets the same outputs
// the provider's catalog holds.
func Example() {
	info := []byte("riskmesh/v1|black|20250101")

	// Provider: long-term key (registered on the ledger) and an evaluator
	// for this category and period.
	sk, _ := oprf.GenerateKey(nil)
	ev, _ := oprf.NewEvaluator(sk, info)
	catalogEntry, _ := ev.Evaluate([]byte("phone:+8613800138000"))

	// Requester: blind a batch for the provider's public key.
	client, _ := oprf.NewClient(sk.Public(), info)
	state, blinded, _ := client.Blind(nil, [][]byte{
		[]byte("phone:+8613800138000"),
		[]byte("phone:+8613900139000"),
	})

	// Provider: one batched proof for the whole batch.
	evaluated, proof, _ := ev.BlindEvaluate(nil, blinded)

	// Requester: verify, unblind, finalise.
	outputs, err := client.Finalize(state, evaluated, proof[:])
	fmt.Println(err, outputs[0] == catalogEntry, outputs[1] == catalogEntry)
	// Output: <nil> true false
}

// Catalog builds evaluate whole lists at once on every core.
func ExampleEvaluator_EvaluateBatch() {
	sk, _ := oprf.DeriveKey(bytes.Repeat([]byte{7}, oprf.SeedSize), []byte("provider-a"))
	ev, _ := oprf.NewEvaluator(sk, []byte("riskmesh/v1|grey|20250101"))
	list := [][]byte{[]byte("card:6222020000000000000"), []byte("device:abc")}
	out := make([][oprf.OutputSize]byte, len(list))
	err := ev.EvaluateBatch(out, list)
	single, _ := ev.Evaluate(list[1])
	fmt.Println(err, out[1] == single)
	// Output: <nil> true
}

// An auditor holds only the transcript: public key, info, blinded and
// evaluated arrays and the proof.
func ExampleVerifyProof() {
	info := []byte("riskmesh/v1|black|20250101")
	sk, _ := oprf.GenerateKey(nil)
	pub, _ := sk.Public().MarshalBinary()
	ev, _ := oprf.NewEvaluator(sk, info)
	client, _ := oprf.NewClient(sk.Public(), info)
	_, blinded, _ := client.Blind(nil, [][]byte{[]byte("email:a@example.com")})
	evaluated, proof, _ := ev.BlindEvaluate(nil, blinded)

	// The auditor's side.
	var key oprf.PublicKey
	if err := key.UnmarshalBinary(pub); err != nil {
		panic(err)
	}
	fmt.Println(oprf.VerifyProof(&key, info, blinded, evaluated, proof[:]))
	fmt.Println(oprf.VerifyProof(&key, []byte("riskmesh/v1|black|20250102"), blinded, evaluated, proof[:]))
	// Output:
	// <nil>
	// oprf: proof verification failed
}

// Nodes check peer input before doing any work on it.
func ExampleValidateElements() {
	n, err := oprf.ValidateElements(make([]byte, 2*oprf.ElementSize))
	fmt.Println(n, err)
	_, err = oprf.BatchLen(make([]byte, 33))
	fmt.Println(err)
	// Output:
	// 0 oprf: identity element (element 0)
	// oprf: element array length is not a multiple of 32 bytes
}
