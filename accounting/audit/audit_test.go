package audit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

var allChecks = []string{
	audit.CheckEntry, audit.CheckHeader, audit.CheckRequestHash, audit.CheckResponseHash,
	audit.CheckRequesterSignature, audit.CheckResponderSignature, audit.CheckOPRFKey,
	audit.CheckProof, audit.CheckAmount, audit.CheckReversal,
}

// amountLedger reports every entry with one token more than recorded: the
// chaincode refuses a wrong amount, so only a lying ledger view can show one.
type amountLedger struct{ accounting.Ledger }

func (l amountLedger) Entry(ctx context.Context, k accounting.EntryKey) (*accounting.RecordedEntry, error) {
	e, err := l.Ledger.Entry(ctx, k)
	if e != nil {
		e.Amount++
	}
	return e, err
}

func otherSigner(t *testing.T) ecsig.Sign {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecsig.NewSigner(k, rand.Reader)
}

func verify(t *testing.T, tr *transcript.Transcript, l audit.Ledger) *audit.Report {
	t.Helper()
	r, err := audit.Verify(audittest.Context(t), tr, l)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		got[i] = c.Name
	}
	if !slices.Equal(got, allChecks) {
		t.Fatalf("checks %v, want %v", got, allChecks)
	}
	return r
}

// TestVerify runs each kind of tampering against a real ledger and expects
// exactly the named checks to fail, the named ones to be skipped, and the
// dispute verdict that follows.
func TestVerify(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	ids := audittest.Identifiers
	tests := []struct {
		name    string
		build   func(t *testing.T) (*transcript.Transcript, audit.Ledger)
		fail    []string
		skip    []string
		verdict accounting.Verdict
	}{
		{
			name: "honest",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "missing entry",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				return c.Exchange(t, audittest.Honest, ids...), c.Requester.Ledger
			},
			fail:    []string{audit.CheckEntry},
			skip:    []string{audit.CheckHeader, audit.CheckRequestHash, audit.CheckResponseHash, audit.CheckAmount, audit.CheckReversal},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "provider answers with another key",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.WrongKey, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "provider corrupts an evaluated element",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.CorruptElement, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "another exchange under a billed key",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				billed := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, billed)
				other := c.Exchange(t, audittest.Honest, ids...)
				other.Header.Sequence = billed.Header.Sequence
				c.Sign(t, other)
				return other, c.Requester.Ledger
			},
			fail:    []string{audit.CheckRequestHash, audit.CheckResponseHash},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "provider bills one answer and sends a bad one",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				billed := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, billed)
				return c.Answer(t, billed, audittest.CorruptElement), c.Requester.Ledger
			},
			fail:    []string{audit.CheckResponseHash, audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "provider bills one valid answer and sends another",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				billed := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, billed)
				return c.Answer(t, billed, audittest.Honest), c.Requester.Ledger
			},
			fail:    []string{audit.CheckResponseHash},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "requester signature by another key",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, tr)
				d, _ := tr.Digests()
				tr.RequestSignature, _ = transcript.SignRequest(otherSigner(t), d.RequestDigest)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckRequesterSignature},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "responder signature by another key",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.WrongKey, ids...)
				c.Record(t, tr)
				d, _ := tr.Digests()
				tr.ResponseSignature, _ = transcript.SignResponse(otherSigner(t), d.ResponseDigest)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckResponderSignature, audit.CheckProof},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "transcript made under RFC 9497's rule",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.ExchangeUnder(t, transcript.ProofRFC9497, audittest.Honest, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "RFC 9497-rule transcript with a corrupt element",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.ExchangeUnder(t, transcript.ProofRFC9497, audittest.CorruptElement, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "transcript made under the full-width binding rule (header version 2)",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.ExchangeUnder(t, transcript.ProofBinding, audittest.Honest, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "provider proves a version 2 request under RFC 9497's rule",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.ExchangeUnder(t, transcript.ProofBinding, audittest.OtherRule, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "provider proves a version 3 request under the full-width binding rule",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.OtherRule, ids...)
				c.Record(t, tr)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckProof},
			verdict: accounting.VerdictUpheld,
		},
		{
			name: "provider relabels a version 3 request as version 2",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.OtherRule, ids...)
				c.Record(t, tr)
				// The provider rewrites the header to match its proof and
				// re-signs its half; the requester's signature covers the
				// header it sent.
				tr.Header.ProofRule = transcript.ProofBinding
				d, _ := tr.Digests()
				tr.ResponseSignature, _ = transcript.SignResponse(c.Provider.Sign, d.ResponseDigest)
				return tr, c.Requester.Ledger
			},
			fail:    []string{audit.CheckHeader, audit.CheckRequesterSignature},
			verdict: accounting.VerdictRejected,
		},
		{
			name: "ledger bills a different amount",
			build: func(t *testing.T) (*transcript.Transcript, audit.Ledger) {
				tr := c.Exchange(t, audittest.Honest, ids...)
				c.Record(t, tr)
				return tr, amountLedger{c.Requester.Ledger}
			},
			fail:    []string{audit.CheckAmount},
			verdict: accounting.VerdictUpheld,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, l := tt.build(t)
			r := verify(t, tr, l)
			for _, ch := range r.Checks {
				want := audit.Pass
				switch {
				case slices.Contains(tt.fail, ch.Name):
					want = audit.Fail
				case slices.Contains(tt.skip, ch.Name):
					want = audit.Skip
				}
				if ch.Status != want {
					t.Errorf("check %s: %s (%s), want %s", ch.Name, ch.Status, ch.Detail, want)
				}
			}
			if r.OK() != (len(tt.fail) == 0) {
				t.Errorf("OK() = %v with failures %v", r.OK(), r.Failed())
			}
			if d := audit.Decide(r); d.Verdict != tt.verdict || d.Reason == "" {
				t.Errorf("decision %+v, want verdict %d with a reason", d, tt.verdict)
			}
		})
	}
}

// TestVerifyReversedEntry: after a reversal the reversal check fails and a
// second dispute is rejected.
func TestVerifyReversedEntry(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	tr := c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	key := c.Record(t, tr)
	digest, err := accounting.EndorsementDigest(key, accounting.VerdictUpheld)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := c.Regulator.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Requester.Ledger.Reverse(audittest.Context(t), accounting.Reverse{Key: key, Auditor: audittest.Regulator, Verdict: accounting.VerdictUpheld, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	r := verify(t, tr, c.Requester.Ledger)
	if got := r.Failed(); !slices.Equal(got, []string{audit.CheckProof, audit.CheckReversal}) {
		t.Fatalf("failed %v, want proof and reversal", got)
	}
	if d := audit.Decide(r); d.Verdict != accounting.VerdictRejected || !strings.Contains(d.Reason, "already reversed") {
		t.Fatalf("decision %+v, want rejected as already reversed", d)
	}
}

// TestVerifyRotatedKeys: after both parties rotate their keys, transcripts
// made before are checked against the keys on record for their period: an
// honest one still passes every check, a bad proof is still caught.
func TestVerifyRotatedKeys(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	tr := c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	c.Record(t, tr)
	honest := c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	c.Record(t, honest)
	ctx := audittest.Context(t)

	_, der, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Requester.Ledger.UpdateProfile(ctx, accounting.Profile{SigningKey: der}); err != nil {
		t.Fatal(err)
	}
	r := verify(t, tr, c.Requester.Ledger)
	ch, _ := r.Check(audit.CheckRequesterSignature)
	if ch.Status != audit.Pass {
		t.Fatalf("requester signature after rotation: %+v, want pass against the replaced key on record", ch)
	}
	if d := audit.Decide(r); d.Verdict != accounting.VerdictUpheld {
		t.Fatalf("decision %+v, want upheld (proof fails)", d)
	}

	nk, err := oprf.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := nk.Public().MarshalBinary()
	if err := c.Provider.Ledger.SetOPRFKey(ctx, audittest.Category, pub); err != nil {
		t.Fatal(err)
	}
	// The proof is still checked against the key the period's catalog was
	// published under, not the registry's new one.
	r = verify(t, tr, c.Requester.Ledger)
	if got := r.Failed(); !slices.Equal(got, []string{audit.CheckProof}) {
		t.Fatalf("failed %v, want proof only", got)
	}
	if d := audit.Decide(r); d.Verdict != accounting.VerdictUpheld {
		t.Fatalf("decision %+v, want upheld", d)
	}
	if r := verify(t, honest, c.Requester.Ledger); !r.OK() {
		t.Fatalf("honest transcript after rotations: failed %v", r.Failed())
	}
}

func TestVerifyLedgerUnavailable(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	tr := c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	c.Store.Close()
	if _, err := audit.Verify(audittest.Context(t), tr, c.Requester.Ledger); !errors.Is(err, audit.ErrLedger) {
		t.Fatalf("err %v, want ErrLedger", err)
	}
}

func TestReportForms(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	tr := c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	c.Record(t, tr)
	r := verify(t, tr, c.Requester.Ledger)

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		OK     bool `json:"ok"`
		Key    accounting.EntryKey
		Checks []audit.Check `json:"checks"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.OK || got.Key != r.Key || len(got.Checks) != len(allChecks) || got.Checks[7].Status != audit.Fail {
		t.Fatalf("JSON %s does not carry the report", b)
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 check(s) failed", "fail  proof", "pass  amount", r.Key.String()} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if audittest.Contains(b, audittest.Identifiers) || audittest.Contains(text.Bytes(), audittest.Identifiers) {
		t.Fatal("a report names an identifier")
	}
}

// What the verdict says a verifying proof establishes depends on the rule
// the transcript records: the whole batch under the binding rule, and under
// RFC 9497's rule only as much as a forgery's cost for that batch size.
func TestDecideNamesWhatTheProofEstablishes(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	for _, tc := range []struct {
		rule transcript.ProofRule
		want []string
	}{
		{transcript.ProofBinding128, []string{"binds the whole batch", "2^-128 per hash evaluation"}},
		{transcript.ProofBinding, []string{"binds the whole batch", "negligible probability"}},
		{transcript.ProofRFC9497, []string{"RFC 9497's proof rule", "for 3 item(s)", "2^127 hash evaluations"}},
	} {
		t.Run(tc.rule.String(), func(t *testing.T) {
			tr := c.ExchangeUnder(t, tc.rule, audittest.Honest, audittest.Identifiers...)
			c.Record(t, tr)
			r := verify(t, tr, c.Requester.Ledger)
			if !r.OK() || r.ProofRule != tc.rule.String() {
				t.Fatalf("report: ok %v, rule %q, failed %v", r.OK(), r.ProofRule, r.Failed())
			}
			d := audit.Decide(r)
			if d.Verdict != accounting.VerdictRejected {
				t.Fatalf("verdict %d, want rejected", d.Verdict)
			}
			for _, w := range tc.want {
				if !strings.Contains(d.Reason, w) {
					t.Errorf("reason %q lacks %q", d.Reason, w)
				}
			}
			if len(d.Reason) > audit.MaxReasonLen {
				t.Errorf("reason of %d bytes", len(d.Reason))
			}
		})
	}
}
