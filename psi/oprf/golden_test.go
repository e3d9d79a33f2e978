package oprf

import (
	"encoding/hex"
	"fmt"
	"testing"
)

// goldenProofs pins, per rule, the proof of a fixed batch under a fixed key
// and fixed randomness (goldenAnswer): a change to a rule's seed, weights,
// nonce or challenge changes its bytes. Nine items span three blocks of
// ProofBinding128's weights, the last one partly used. The ProofBinding and
// ProofRFC9497 bytes are those the code before ProofBinding128 produced.
var goldenProofs = map[ProofRule]string{
	ProofBinding:    "a8551f42f6085e49da645a86e5387f352d0db46aaf77c60aa0137250c615b102479989ced0c846aea7c7e77f470115925f9f11e981c95bf632bfcd1de3239e0a",
	ProofRFC9497:    "b5a86aad1c211424c8bfdf8da9831d5c2326f41963d65e4297895a69f71d2a090c5578e7b05aaef069ed81ee21ffc420660c7c861eae0cc948b4e51d771a9c05",
	ProofBinding128: "7d759ef6cafb74c42fba09791bc68a769bc61f9bb8a04ac6ef5f9584844ae50b423542588bb3aee7e7e55c55db2d169713fff4925ba2e1e1eed75ff37f15f201",
}

// goldenAnswer blinds nine fixed inputs under a key derived from a fixed
// seed, with a repeating source for the blinds and the proof's fresh bytes,
// and answers them under rule.
func goldenAnswer(t *testing.T, rule ProofRule) (c *Client, blinded, evaluated []byte, proof [ProofSize]byte) {
	t.Helper()
	info := []byte("riskmesh/v1|black|20250101")
	sk, err := DeriveKey(make([]byte, SeedSize), []byte("riskmesh golden"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err = NewClientWithRule(sk.Public(), info, rule); err != nil {
		t.Fatal(err)
	}
	inputs := make([][]byte, 9)
	for i := range inputs {
		inputs[i] = fmt.Appendf(nil, "phone:+86138%08d", i)
	}
	if _, blinded, err = c.Blind(repeating(3), inputs); err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluatorWithRule(sk, info, rule)
	if err != nil {
		t.Fatal(err)
	}
	if evaluated, proof, err = ev.BlindEvaluate(repeating(7), blinded); err != nil {
		t.Fatal(err)
	}
	return c, blinded, evaluated, proof
}

func TestProofGolden(t *testing.T) {
	for _, rule := range rules {
		t.Run(rule.String(), func(t *testing.T) {
			c, blinded, evaluated, proof := goldenAnswer(t, rule)
			if got := hex.EncodeToString(proof[:]); got != goldenProofs[rule] {
				t.Errorf("proof %s, want %s", got, goldenProofs[rule])
			}
			if err := c.VerifyProof(blinded, evaluated, proof[:]); err != nil {
				t.Fatal(err)
			}
		})
	}
}
