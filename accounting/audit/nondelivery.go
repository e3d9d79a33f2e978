package audit

import (
	"fmt"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
)

// billedChecks are the checks that make a transcript exactly the exchange
// the ledger billed: the entry, its header and body hashes, both
// signatures.
var billedChecks = []string{CheckEntry, CheckHeader, CheckRequestHash, CheckResponseHash, CheckRequesterSignature, CheckResponderSignature}

// Billed reports whether r's transcript is exactly the exchange its ledger
// entry bills, whatever its proof says, and names the checks that fail
// otherwise.
func Billed(r *Report) (bool, []string) {
	var failed []string
	for _, name := range billedChecks {
		if !passed(r, name) {
			failed = append(failed, name)
		}
	}
	return len(failed) == 0, failed
}

// DecideNonDelivery decides a requester's claim that it never received the
// answer entry bills (docs/audit.md, "Non-delivery"). The provider must
// produce the billed response when the auditor asks: produced is Verify's
// report on the transcript it produced, nil if it produced none (why says
// what happened instead). The dispute is upheld when nothing that is
// exactly the billed exchange was produced, or when what was produced
// fails its proof or bills the wrong amount; it is rejected when the
// entry is not billable any more (missing, reversed, snapshotted) or the
// provider produced a good billed answer, which then goes to the
// requester.
func DecideNonDelivery(entry *accounting.RecordedEntry, state accounting.PeriodState, produced *Report, why string) Decision {
	if d, final := unreversible(entry, state); final {
		return d
	}
	if produced == nil {
		return upheld("the provider did not produce the billed response when the auditor asked: %s", why)
	}
	if ok, failed := Billed(produced); !ok {
		return upheld("what the provider produced is not the billed exchange (failed: %s)", strings.Join(failed, ", "))
	}
	if c, _ := produced.Check(CheckProof); c.Status == Fail {
		return upheld("the billed response the provider produced does not verify against its registered OPRF key: %s", c.Detail)
	}
	if c, _ := produced.Check(CheckAmount); c.Status == Fail {
		return upheld("the entry bills the wrong amount: %s", c.Detail)
	}
	return reject("the provider produced the billed response and it verifies: the charge stands, and the response is returned to the requester")
}

func reject(format string, args ...any) Decision {
	return Decision{Verdict: accounting.VerdictRejected, Reason: fmt.Sprintf(format, args...)}
}

func upheld(format string, args ...any) Decision {
	return Decision{Verdict: accounting.VerdictUpheld, Reason: fmt.Sprintf(format, args...)}
}

// unreversible is the rejection of a dispute whose entry cannot be
// reversed (none was billed, it is reversed already, or its period is
// snapshotted); final is false if the entry can be.
func unreversible(entry *accounting.RecordedEntry, state accounting.PeriodState) (d Decision, final bool) {
	switch {
	case entry == nil:
		return reject("no ledger entry: nothing was billed, nothing to reverse"), true
	case entry.Reversal != nil:
		return reject("the entry is already reversed"), true
	case state == accounting.PeriodSnapshotted:
		return reject("period %d is snapshotted: the charge is final", entry.Key.Period), true
	}
	return Decision{}, false
}
