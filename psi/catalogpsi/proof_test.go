package catalogpsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// An auditor checks each transcript under the rule its header records: a
// version 3 header's answer under the 128-bit binding rule, a version 2
// header's under the full-width one, an old version 1 header's under RFC
// 9497's, and none under another.
func TestVerifyProofFollowsTheHeader(t *testing.T) {
	f := newFixture(t, 10)
	r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, f.catalog)
	if err != nil {
		t.Fatal(err)
	}
	_, blinded, err := r.Blind(seeded(3), f.listed[:4])
	if err != nil {
		t.Fatal(err)
	}
	answers := map[transcript.ProofRule]oprf.ProofRule{
		transcript.ProofBinding128: oprf.ProofBinding128,
		transcript.ProofBinding:    oprf.ProofBinding,
		transcript.ProofRFC9497:    oprf.ProofRFC9497,
	}
	for made, rule := range answers {
		ev, err := oprf.NewEvaluatorWithRule(f.key, Info("black", 7), rule)
		if err != nil {
			t.Fatal(err)
		}
		evaluated, proof, err := ev.BlindEvaluate(seeded(5), blinded)
		if err != nil {
			t.Fatal(err)
		}
		for recorded := range answers {
			t.Run(fmt.Sprintf("made %v, header says %v", made, recorded), func(t *testing.T) {
				h := &transcript.Header{ProofRule: recorded, Category: "black", Period: 7}
				err := VerifyProof(h, f.key.Public(), blinded, evaluated, proof[:])
				if made == recorded && err != nil {
					t.Fatalf("VerifyProof = %v", err)
				}
				if made != recorded && !errors.Is(err, oprf.ErrProofVerification) {
					t.Fatalf("VerifyProof = %v, want ErrProofVerification", err)
				}
			})
		}
	}
	t.Run("unknown rule", func(t *testing.T) {
		h := &transcript.Header{ProofRule: 7, Category: "black", Period: 7}
		if err := VerifyProof(h, f.key.Public(), blinded, blinded, make([]byte, oprf.ProofSize)); !errors.Is(err, oprf.ErrProofRule) {
			t.Fatalf("VerifyProof = %v, want ErrProofRule", err)
		}
	})
}

func TestNilKeysAreErrors(t *testing.T) {
	f := newFixture(t, 10)
	if _, err := NewRequester("Bank1MSP", nil, "black", 7, f.catalog); !errors.Is(err, oprf.ErrInvalidPublicKey) {
		t.Errorf("NewRequester(nil key) = %v", err)
	}
	if _, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, nil); !errors.Is(err, ErrNoCatalog) {
		t.Errorf("NewRequester(nil catalog) = %v", err)
	}
	p := NewProvider("Bank1MSP", nil)
	if _, err := p.Evaluator("black", 7); !errors.Is(err, oprf.ErrInvalidPrivateKey) {
		t.Errorf("Evaluator with a nil key = %v", err)
	}
	entries := slices.Values([]Entry{{ID: f.listed[0]}})
	if _, err := p.BuildCatalog(context.Background(), bytes.NewReader(nil), "black", 7, entries, 1, nil); !errors.Is(err, oprf.ErrInvalidPrivateKey) {
		t.Errorf("BuildCatalog with a nil key = %v", err)
	}
}
