package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// audit verifies each provider's transcript of the query against the
// ledger as an auditor would (docs/audit.md), then a copy altered after the
// fact: the honest answers pass every check and leave nothing to dispute;
// the altered copy fails the checks that bind it to the billed exchange, so
// a dispute built on it is rejected.
func (d *session) audit(ctx context.Context) error {
	done := d.step("audit", "audit: each answer's transcript checked against its ledger entry")
	var last *transcript.Transcript
	for _, e := range d.recorded {
		tr, r, err := d.auditEntry(ctx, e.Key)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		dec := audit.Decide(r)
		if !r.OK() || dec.Verdict == accounting.VerdictUpheld {
			return fmt.Errorf("%s's honest answer fails the audit: %v", e.Key.Responder, r.Failed())
		}
		fmt.Fprintf(d.out, "   %s's answer: all %d checks pass (%s); a dispute of it would be rejected\n", e.Key.Responder, len(r.Checks), checkNames(r))
		last = tr
	}
	if last == nil || len(last.Response.Evaluated) == 0 {
		return errors.New("audit: no transcript to alter")
	}
	// One evaluated element replaced by the blinded one it answers: a valid
	// group element, but not the provider's evaluation.
	last.Response.Evaluated[0] = slices.Clone(last.Request.Elements[0])
	r, err := audit.Verify(ctx, last, d.net.Admin())
	if err != nil {
		return err
	}
	dec := audit.Decide(r)
	if r.OK() || dec.Verdict == accounting.VerdictUpheld {
		return errors.New("audit: an altered transcript passed")
	}
	fmt.Fprintf(d.out, "   %s's transcript with one answer element altered afterwards: %s fail; a dispute built on it is rejected (%s)\n",
		last.Header.Responder, strings.Join(r.Failed(), ", "), dec.Reason)
	d.summary.Audited = len(d.recorded)
	done()
	return nil
}

// rotate is the key rotation scene: the requester and one provider that
// answered replace their transcript-signing keys on the running network
// (RotateKeys, what `riskmesh keys rotate signing` calls), and the query's
// transcripts, signed under the replaced keys, are audited again: the
// ledger keeps a replaced key valid for the periods it covered. The
// dispute scene's query then runs under the new keys.
func (d *session) rotate(ctx context.Context) error {
	done := d.step("keys", "key rotation: signing keys replaced on the running network")
	if len(d.recorded) == 0 {
		return errors.New("keys: no recorded answer")
	}
	for _, msp := range []string{Requester, d.recorded[0].Key.Responder} {
		client, err := d.net.Client(msp)
		if err != nil {
			return err
		}
		resp, err := client.RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_SIGNING})
		if err != nil {
			return fmt.Errorf("keys: rotate %s's signing key: %w", msp, err)
		}
		fmt.Fprintf(d.out, "   %s: new signing key registered and in use from period %d; the old one stays valid for period %d's entries\n",
			msp, resp.GetEffectivePeriod(), d.recorded[0].Key.Period)
		d.summary.Rotated = append(d.summary.Rotated, msp)
	}
	for _, e := range d.recorded {
		_, r, err := d.auditEntry(ctx, e.Key)
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if !r.OK() {
			return fmt.Errorf("keys: %s's answer fails its audit after the rotation: %v", e.Key.Responder, r.Failed())
		}
		d.summary.ReAudited++
	}
	fmt.Fprintf(d.out, "   the query's %d transcripts, signed under the replaced keys, still pass every audit check\n", d.summary.ReAudited)
	done()
	return nil
}

// auditEntry fetches the transcript of key's exchange from the requester's
// node and verifies it against the ledger as an auditor would.
func (d *session) auditEntry(ctx context.Context, key accounting.EntryKey) (*transcript.Transcript, *audit.Report, error) {
	client, err := d.net.Client(Requester)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.GetTranscript(ctx, &riskmeshv1.GetTranscriptRequest{Period: key.Period, Responder: key.Responder, Sequence: key.Sequence})
	if err != nil {
		return nil, nil, fmt.Errorf("transcript of %s's answer: %w", key.Responder, err)
	}
	tr, err := transcript.Parse(resp.GetTranscript())
	if err != nil {
		return nil, nil, fmt.Errorf("transcript of %s's answer: %w", key.Responder, err)
	}
	r, err := audit.Verify(ctx, tr, d.net.Admin())
	if err != nil {
		return nil, nil, err
	}
	return tr, r, nil
}

// checkNames lists a report's checks by name.
func checkNames(r *audit.Report) string {
	names := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}
