package catalogpsi

import (
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// VerifyProof checks the batched proof of the catalog-PSI exchange h
// describes, under the rule h records, against the provider key pub and
// the info of h's category and period: what an auditor checks. New
// exchanges are made under transcript.ProofBinding128 (header version 3)
// and providers answer it or transcript.ProofBinding (version 2); older
// transcripts are checked under RFC 9497's rule, which
// docs/threat-model.md says proves less.
func VerifyProof(h *transcript.Header, pub *oprf.PublicKey, blinded, evaluated, proof []byte) error {
	c, err := oprf.NewClientWithRule(pub, Info(h.Category, h.Period), h.ProofRule)
	if err != nil {
		return err
	}
	return c.VerifyProof(blinded, evaluated, proof)
}
