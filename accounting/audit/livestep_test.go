package audit_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestDecideLiveUnanswered plays a live exchange's homomorphic step
// disputed every way either party can shape it: the verdict is upheld
// only for a billed live exchange whose requester signed the claimed query
// for it and whose provider cannot show its receipt for a query the
// requester signed for it.
func TestDecideLiveUnanswered(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	ctx := audittest.Context(t)
	entryOf := func(tr *transcript.Transcript) *accounting.RecordedEntry {
		e, err := c.Requester.Ledger.Entry(ctx, c.Record(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	live := entryOf(c.LiveExchange(t, audittest.Honest, audittest.Identifiers...))
	catalog := entryOf(c.Exchange(t, audittest.Honest, audittest.Identifiers...))
	billed, err := audit.BilledDigest(live)
	if err != nil {
		t.Fatal(err)
	}
	step := func(signer ecsig.Sign, query string) *audit.LiveStep {
		s := &audit.LiveStep{Params: sha256.Sum256([]byte("params")), Query: sha256.Sum256([]byte(query))}
		if s.RequesterSignature, err = transcript.SignRequest(signer, s.QueryDigest(billed)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	answer := func(s *audit.LiveStep, signer ecsig.Sign) *audit.LiveStep {
		a := *s
		a.Answer = sha256.Sum256([]byte("answer"))
		if a.ResponderSignature, err = transcript.SignResponse(signer, transcript.LiveAnswerDigest(a.QueryDigest(billed), a.Answer)); err != nil {
			t.Fatal(err)
		}
		return &a
	}
	claimed := step(c.Requester.Sign, "the query")
	claim := audit.LiveClaim{Step: claimed, RequesterKeys: [][]byte{c.Requester.SigningKey}, ResponderKeys: [][]byte{c.Provider.SigningKey}}
	reversed := *live
	reversed.Reversal = &accounting.Reversal{Auditor: c.Regulator.MSPID, Verdict: accounting.VerdictUpheld}
	for _, tc := range []struct {
		name     string
		entry    *accounting.RecordedEntry
		state    accounting.PeriodState
		claim    *audit.LiveStep
		produced *audit.LiveStep
		want     accounting.Verdict
		reason   string
	}{
		{"withheld", live, accounting.PeriodOpen, claimed, nil, accounting.VerdictUpheld, "showed no signed answer"},
		{"recorded the query, no receipt", live, accounting.PeriodOpen, claimed, claimed, accounting.VerdictUpheld, "no answer receipt"},
		{"receipt signed by the requester", live, accounting.PeriodOpen, claimed, answer(claimed, c.Requester.Sign), accounting.VerdictUpheld, "receipt does not verify"},
		{"answered a query the requester never signed", live, accounting.PeriodOpen, claimed, answer(step(c.Provider.Sign, "invented"), c.Provider.Sign), accounting.VerdictUpheld, "requester's signature does not verify"},
		{"answered", live, accounting.PeriodOpen, claimed, answer(claimed, c.Provider.Sign), accounting.VerdictRejected, "signed receipt for the requester's query"},
		{"answered another signed query", live, accounting.PeriodOpen, claimed, answer(step(c.Requester.Sign, "first"), c.Provider.Sign), accounting.VerdictRejected, "another query"},
		{"claim not signed by the requester", live, accounting.PeriodOpen, step(c.Provider.Sign, "the query"), nil, accounting.VerdictRejected, "not a homomorphic query the requester signed"},
		{"no claim", live, accounting.PeriodOpen, nil, nil, accounting.VerdictRejected, "not a homomorphic query"},
		{"catalog exchange", catalog, accounting.PeriodOpen, claimed, nil, accounting.VerdictRejected, "not a live one"},
		{"not billed", nil, accounting.PeriodOpen, claimed, nil, accounting.VerdictRejected, "no ledger entry"},
		{"already reversed", &reversed, accounting.PeriodOpen, claimed, nil, accounting.VerdictRejected, "already reversed"},
		{"snapshotted", live, accounting.PeriodSnapshotted, claimed, nil, accounting.VerdictRejected, "snapshotted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := claim
			cl.Step = tc.claim
			d := audit.DecideLiveUnanswered(tc.entry, tc.state, cl, tc.produced, "nothing stored")
			if d.Verdict != tc.want || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("verdict %v %q, want %v with %q", d.Verdict, d.Reason, tc.want, tc.reason)
			}
		})
	}
}
