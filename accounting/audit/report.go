package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
)

// Check names, in the order Verify runs them. They are stable: the auditor
// service returns them to requesters and `riskmesh audit verify --json`
// prints them.
const (
	// CheckEntry: the ledger holds an entry under the key the header
	// derives (period/requester/responder/sequence).
	CheckEntry = "entry"
	// CheckHeader: the entry's stored header is the transcript's header,
	// byte for byte.
	CheckHeader = "header"
	// CheckRequestHash: the request body hash recomputed from the
	// transcript is the one on the ledger.
	CheckRequestHash = "request-hash"
	// CheckResponseHash: the response body hash recomputed from the
	// transcript is the one on the ledger.
	CheckResponseHash = "response-hash"
	// CheckRequesterSignature: the requester's signature verifies over the
	// recomputed request digest against its registered signing key.
	CheckRequesterSignature = "requester-signature"
	// CheckResponderSignature: the responder's signature verifies over the
	// recomputed response digest against its registered signing key.
	CheckResponderSignature = "responder-signature"
	// CheckOPRFKey: the header's key id names the OPRF public key the
	// provider registered for the category.
	CheckOPRFKey = "oprf-key"
	// CheckProof: the batched DLEQ proof verifies against that key and the
	// period tweak, so every evaluated element is the provider's PRF of the
	// blinded element it answers.
	CheckProof = "proof"
	// CheckAmount: the entry bills the header's count at the price the
	// period captured when it opened.
	CheckAmount = "amount"
	// CheckReversal: the charge stands (the entry has not been reversed).
	CheckReversal = "reversal"
	// CheckLiveStep: the homomorphic step of a live exchange. Always Skip:
	// BGV evaluation carries no proof and the auditor holds neither the
	// provider's list nor the requester's secret key, so whether the answer
	// was right cannot be decided (docs/audit.md, "Live mode").
	CheckLiveStep = "live-step"
)

// Status is one check's outcome.
type Status string

const (
	// Pass: the fact holds.
	Pass Status = "pass"
	// Fail: the fact does not hold; Detail says what differs.
	Fail Status = "fail"
	// Skip: the check could not run (an earlier check it depends on
	// failed, or it does not apply to the protocol); Detail says why.
	Skip Status = "skip"
)

// Check is one named fact and its outcome.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Report is the outcome of verifying one transcript. Its JSON form is what
// `riskmesh audit verify --json` prints.
type Report struct {
	// Key is the entry key the transcript's header derives.
	Key      accounting.EntryKey `json:"key"`
	Protocol string              `json:"protocol"`
	Category string              `json:"category"`
	Count    uint32              `json:"count"`
	// ProofRule is the rule the transcript's batched proof follows
	// (transcript.ProofRule's name; empty for ECDH-PSI): what a verifying
	// proof establishes depends on it (Decide).
	ProofRule string `json:"proofRule,omitempty"`
	// PeriodState is the state of the entry's period on the ledger (empty
	// if the period is unknown): a reversal is possible until it is
	// snapshotted.
	PeriodState accounting.PeriodState `json:"periodState,omitempty"`
	Checks      []Check                `json:"checks"`
}

// OK reports whether every check passed or was skipped because it does not
// apply, and none failed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Failed returns the names of the failed checks, in order.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Check returns the named check.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// MarshalJSON adds the overall result to the report's fields.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		OK bool `json:"ok"`
		*plain
	}{r.OK(), (*plain)(r)})
}

// WriteText writes the human form: the entry, then one line per check.
func (r *Report) WriteText(w io.Writer) error {
	result := "every check holds"
	if !r.OK() {
		result = fmt.Sprintf("%d check(s) failed", len(r.Failed()))
	}
	if _, err := fmt.Fprintf(w, "entry %s: %s, %s, %d item(s)\nperiod state: %s\nresult: %s\n",
		r.Key.String(), r.Protocol, r.Category, r.Count, orUnknown(string(r.PeriodState)), result); err != nil {
		return err
	}
	for _, c := range r.Checks {
		line := strings.TrimRight(fmt.Sprintf("  %-4s  %-19s  %s", c.Status, c.Name, c.Detail), " ")
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (r *Report) add(name string, s Status, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Status: s, Detail: fmt.Sprintf(format, args...)})
}
