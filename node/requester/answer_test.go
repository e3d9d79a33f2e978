package requester

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The proof and the signature of an answer are checked side by side; each
// must hold on its own. A dishonest provider's honest evaluation and proof
// signed with a key it did not register are disputed with no results, and
// so is its registered signature over a proof that does not verify; the
// signature's failure is the one reported when both fail.
func TestAdversaryAnswerNeedsSignatureAndProof(t *testing.T) {
	x, req, query, honest := answerFixture(t)
	if o := verifyCatalogAnswer(x, req, query(t), honest, noRecheck); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED ||
		len(o.results) != len(x.ids) {
		t.Fatalf("honest answer: %v %v with %d results", o.status, o.err, len(o.results))
	}

	other, otherPub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	sign := func(proof []byte) []byte {
		respHash, err := transcript.HashResponse(&req.header, &transcript.Response{Evaluated: splitElements(honest.Evaluated), Proof: proof})
		must(t, err)
		sig, err := transcript.SignResponse(ecsig.NewSigner(other, rand.Reader), transcript.ResponseDigest(req.requestDigest, respHash))
		must(t, err)
		return sig
	}
	unregistered := sign(honest.Proof)
	forged := &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated, Proof: honest.Proof, ResponderSignature: unregistered}
	if o := verifyCatalogAnswer(x, req, query(t), forged, noRecheck); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED ||
		len(o.results) != 0 || strings.Contains(o.err.GetMessage(), "proof") {
		t.Fatalf("answer signed with an unregistered key: %v %q with %d results, want DISPUTED for the signature, no results",
			o.status, o.err.GetMessage(), len(o.results))
	}

	badProof := append([]byte(nil), honest.Proof...)
	badProof[0] ^= 1
	signedBad := &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated, Proof: badProof, ResponderSignature: sign(badProof)}
	registered := *x // the provider registered the key it signed with
	registered.inst.SigningKey = otherPub
	if o := verifyCatalogAnswer(&registered, req, query(t), signedBad, noRecheck); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED ||
		len(o.results) != 0 || !strings.Contains(o.err.GetMessage(), "proof") {
		t.Fatalf("signed answer with a bad proof: %v %q with %d results, want DISPUTED for the proof, no results",
			o.status, o.err.GetMessage(), len(o.results))
	}
	if o := verifyCatalogAnswer(x, req, query(t), signedBad, noRecheck); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED ||
		strings.Contains(o.err.GetMessage(), "proof") {
		t.Fatalf("bad proof and bad signature: %v %q, want DISPUTED for the signature", o.status, o.err.GetMessage())
	}
}
