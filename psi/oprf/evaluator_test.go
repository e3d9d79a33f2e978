package oprf

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/gtank/ristretto255"
)

// TestBlindEvaluateBatchEqualsSingle: a batch's evaluated elements equal,
// item by item, the element evaluated alone and RFC 9497's (1/t)·D computed
// with ristretto255, and both proofs verify.
func TestBlindEvaluateBatchEqualsSingle(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSession(t, n)
			evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, s.blinded)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.client.VerifyProof(s.blinded, evaluated, proof[:]); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				d := element(s.blinded, i)
				one, oneProof, err := s.ev.BlindEvaluate(rand.Reader, d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(one, element(evaluated, i)) {
					t.Fatalf("item %d: batch %x, alone %x", i, element(evaluated, i), one)
				}
				if err := s.client.VerifyProof(d, one, oneProof[:]); err != nil {
					t.Fatalf("item %d alone: %v", i, err)
				}
				var e ristretto255.Element
				if err := decodeElement(&e, d); err != nil {
					t.Fatal(err)
				}
				if want := e.ScalarMult(&s.ev.mult, &e).Bytes(); !bytes.Equal(want, one) {
					t.Fatalf("item %d: got %x, want (1/t)·D = %x", i, one, want)
				}
			}
		})
	}
}
