package catalogpsi

import (
	"fmt"

	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// proofRule maps the rule a transcript header records to psi/oprf's.
func proofRule(r transcript.ProofRule) (oprf.ProofRule, error) {
	switch r {
	case transcript.ProofBinding:
		return oprf.ProofBinding, nil
	case transcript.ProofRFC9497:
		return oprf.ProofRFC9497, nil
	}
	return 0, fmt.Errorf("%w: %v", oprf.ErrProofRule, r)
}

// VerifyProof checks the batched proof of the catalog-PSI exchange h
// describes, under the rule h records, against the provider key pub and
// the info of h's category and period: what an auditor checks. New
// exchanges are made and answered under transcript.ProofBinding only;
// transcripts from before it are checked under RFC 9497's rule, which
// docs/threat-model.md says proves less.
func VerifyProof(h *transcript.Header, pub *oprf.PublicKey, blinded, evaluated, proof []byte) error {
	rule, err := proofRule(h.ProofRule)
	if err != nil {
		return err
	}
	c, err := oprf.NewClientWithRule(pub, Info(h.Category, h.Period), rule)
	if err != nil {
		return err
	}
	return c.VerifyProof(blinded, evaluated, proof)
}
