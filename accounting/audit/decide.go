package audit

import (
	"fmt"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
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
// is not what was billed proves nothing against the provider, and an
// answer whose proof holds is the provider's PRF of what was asked, so a
// label the requester believes wrong is a question of list quality, not a
// cryptographic failure an auditor can settle.
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
	return reject("every check holds: the answer is the provider's PRF of what was asked, so a label believed wrong is a list-quality matter, not a cryptographic failure")
}

func passed(r *Report, name string) bool {
	c, ok := r.Check(name)
	return ok && c.Status == Pass
}
