package audit

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Decision is an auditor's verdict on a disputed transcript and why.
type Decision struct {
	Verdict accounting.Verdict
	Reason  string
}

// Decide turns a report into a dispute verdict. A dispute is upheld only if
// the transcript answers the exchange the ledger billed (entry, header,
// request hash and both signatures hold) and the provider's answer is
// provably bad (its proof fails against the registered key) or the bill is
// wrong. The response hash may differ from the billed one: the provider
// then signed two answers to one billed request, and the one it gave the
// requester is still its own (its signature covers the billed request
// digest). Everything else is rejected with the reason: a transcript that
// is not what was billed proves nothing against the provider. A proof that
// holds under the batch-binding rule shows that every evaluated element is
// the provider's PRF of the blinded element asked, so a label the requester
// believes wrong is a question of list quality, not a cryptographic failure
// an auditor can settle. A transcript made under RFC 9497's rule (header
// version 1) proves less: its reason says how much work a forgery of its
// batch size would have taken (forgeryWorkBits), and the charge still
// stands, since nothing shows the answer was forged.
func Decide(r *Report) Decision {
	reject := func(format string, args ...any) Decision {
		return Decision{Verdict: accounting.VerdictRejected, Reason: fmt.Sprintf(format, args...)}
	}
	if !passed(r, CheckEntry) {
		return reject("no ledger entry under %s: nothing was billed, nothing to reverse", r.Key.String())
	}
	var forged []string
	for _, name := range []string{CheckHeader, CheckRequestHash, CheckRequesterSignature, CheckResponderSignature} {
		if !passed(r, name) {
			forged = append(forged, name)
		}
	}
	if len(forged) > 0 {
		return reject("the transcript is not the exchange the ledger billed (failed: %s)", strings.Join(forged, ", "))
	}
	if !passed(r, CheckReversal) {
		return reject("the entry is already reversed")
	}
	if r.PeriodState == accounting.PeriodSnapshotted {
		return reject("period %d is snapshotted: the charge is final", r.Key.Period)
	}
	if c, _ := r.Check(CheckProof); c.Status == Fail {
		reason := "the provider's answer does not verify against its registered OPRF key: " + c.Detail
		if !passed(r, CheckResponseHash) {
			reason = "the provider signed this answer to the billed request but billed another; " + reason
		}
		return Decision{Verdict: accounting.VerdictUpheld, Reason: reason}
	}
	if c, _ := r.Check(CheckAmount); c.Status == Fail {
		return Decision{Verdict: accounting.VerdictUpheld, Reason: "the entry bills the wrong amount: " + c.Detail}
	}
	if c, _ := r.Check(CheckOPRFKey); c.Status == Fail {
		return reject("the proof cannot be checked: %s", c.Detail)
	}
	if c, _ := r.Check(CheckProof); c.Status == Skip {
		return reject("%s answers carry no proof: nothing cryptographic to dispute", r.Protocol)
	}
	if r.Protocol == transcript.ProtocolLiveHE.String() {
		return reject("every check of the POPRF step holds: each identifier was evaluated, and billed, under the provider's key; the homomorphic step is not decided (%s)", liveUndecidable)
	}
	if r.ProofRule == transcript.ProofRFC9497.String() {
		return reject("every check holds under RFC 9497's proof rule (a transcript made before the batch-binding rule): for %d item(s) it shows the answer is the provider's PRF of what was asked unless the provider spent about 2^%d hash evaluations forging it (Wagner's k-tree algorithm); nothing shows a forgery, so the charge stands and a label believed wrong is a list-quality matter",
			r.Count, forgeryWorkBits(r.Count))
	}
	odds := "negligible probability"
	if r.ProofRule == transcript.ProofBinding128.String() {
		// docs/protocol/oprf.md, "128-bit weights".
		odds = "probability at most 2^-128 per hash evaluation the provider spends"
	}
	return reject("every check holds: the proof binds the whole batch, so every evaluated element is the provider's PRF, under the key it published for this category and period, of the blinded element asked (a forgery succeeds with %s); a label believed wrong is a list-quality matter, not a cryptographic failure", odds)
}

// forgeryWorkBits is log2 of the work Wagner's k-tree algorithm needs to
// forge an RFC 9497-rule batched proof for count items: the weighted sum
// Σ d_i·e_i over a 252-bit group order is a k-list sum problem with k the
// largest power of two up to count, solved in about k·2^(252/(1+lg k))
// hash evaluations (2^252 for one item, where no forgery exists).
func forgeryWorkBits(count uint32) int {
	lgk := max(bits.Len32(count)-1, 0)
	return lgk + (groupOrderBits+lgk)/(1+lgk) // ceiling of 252/(1+lg k)
}

// groupOrderBits is the bit length of ristretto255's group order ℓ.
const groupOrderBits = 252

func passed(r *Report, name string) bool {
	c, ok := r.Check(name)
	return ok && c.Status == Pass
}
