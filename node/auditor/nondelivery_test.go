package auditor_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// nonDeliveryService is the regulator's auditor service whose Redeliver
// plays the provider: it hands over what produce returns.
func nonDeliveryService(t *testing.T, f *fixture, produce auditor.Redeliver) *auditor.Service {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "auditor.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := registry.New(f.c.Regulator.Ledger, registry.Options{})
	if err := dir.Refresh(audittest.Context(t)); err != nil {
		t.Fatal(err)
	}
	svc, err := auditor.New(auditor.Config{MSPID: audittest.Regulator, Ledger: f.c.Regulator.Ledger,
		Sign: f.ids[audittest.Regulator].Sign, DB: db, Authorizer: dir, Redeliver: produce})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// A provider bills an exchange and, asked by the auditor for the billed
// response, produces it, produces nothing, produces another answer, or
// produces a billed answer that fails its proof. Only the first keeps the
// charge; the requester then gets the transcript.
func TestAdversaryNonDeliveryDispute(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	tests := []struct {
		name    string
		billed  audittest.Behaviour
		produce func(tr *transcript.Transcript) (*transcript.Transcript, error)
		want    riskmeshv1.Verdict
		reason  string
	}{
		{"produces the billed answer", audittest.Honest,
			func(tr *transcript.Transcript) (*transcript.Transcript, error) { return tr, nil },
			riskmeshv1.Verdict_VERDICT_REJECTED, "produced the billed response"},
		{"produces nothing", audittest.Honest,
			func(*transcript.Transcript) (*transcript.Transcript, error) {
				return nil, errors.New("NOT_FOUND: nothing stored")
			},
			riskmeshv1.Verdict_VERDICT_UPHELD, "did not produce the billed response"},
		{"produces another answer", audittest.Honest,
			func(tr *transcript.Transcript) (*transcript.Transcript, error) {
				return f.c.Answer(t, tr, audittest.Honest), nil
			},
			riskmeshv1.Verdict_VERDICT_UPHELD, "not the billed exchange"},
		{"produces a billed answer whose proof fails", audittest.WrongKey,
			func(tr *transcript.Transcript) (*transcript.Transcript, error) { return tr, nil },
			riskmeshv1.Verdict_VERDICT_UPHELD, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := audittest.Context(t)
			tr := f.c.Exchange(t, tt.billed, audittest.Identifiers...)
			key := f.c.Record(t, tr)
			svc := nonDeliveryService(t, f, func(_ context.Context, k accounting.EntryKey) (*transcript.Transcript, error) {
				if k != key {
					t.Errorf("auditor asked for %v, want %v", k, key)
				}
				return tt.produce(tr)
			})
			v, produced, err := svc.JudgeNonDelivery(ctx, audittest.Requester, key, "never delivered")
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Fatalf("verdict %v (%q), want %v because it %s", v.Verdict, v.Reason, tt.want, tt.reason)
			}
			inst, err := f.c.Regulator.Ledger.Institution(ctx, audittest.Regulator)
			if err != nil {
				t.Fatal(err)
			}
			if err := dispute.VerifyVerdict(inst, v); err != nil {
				t.Fatalf("verdict signatures: %v", err)
			}
			if (tt.want == riskmeshv1.Verdict_VERDICT_REJECTED) != (len(produced) > 0) {
				t.Fatalf("%d bytes of produced transcript returned with a %v verdict", len(produced), v.Verdict)
			}
			if tt.want == riskmeshv1.Verdict_VERDICT_UPHELD {
				err := f.c.Requester.Ledger.Reverse(ctx, accounting.Reverse{Key: key, Auditor: v.Auditor,
					Verdict: accounting.VerdictUpheld, Signature: v.EndorsementSignature})
				if err != nil {
					t.Fatalf("the upheld verdict does not reverse the entry: %v", err)
				}
			}
		})
	}
}

// Only the billed requester files non-delivery, on an entry that exists,
// with an auditor that can ask providers.
func TestNonDeliveryRefusals(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	ctx := audittest.Context(t)
	tr := f.c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	key := f.c.Record(t, tr)
	svc := nonDeliveryService(t, f, func(context.Context, accounting.EntryKey) (*transcript.Transcript, error) { return tr, nil })
	if _, _, err := svc.JudgeNonDelivery(ctx, audittest.Provider, key, ""); !errors.Is(err, auditor.ErrNotRequester) {
		t.Fatalf("provider filing: %v, want ErrNotRequester", err)
	}
	if _, _, err := svc.JudgeNonDelivery(ctx, audittest.Requester, accounting.EntryKey{}, ""); !errors.Is(err, auditor.ErrKey) {
		t.Fatalf("zero key: %v, want ErrKey", err)
	}
	missing := key
	missing.Sequence += 1000
	v, _, err := svc.JudgeNonDelivery(ctx, audittest.Requester, missing, "")
	if err != nil || v.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || v.DisputeId != 0 {
		t.Fatalf("unbilled entry: %v, %v; want rejected and not kept", v, err)
	}
	if _, _, err := f.service.JudgeNonDelivery(ctx, audittest.Requester, key, ""); !errors.Is(err, auditor.ErrNoRedeliver) {
		t.Fatalf("auditor without Redeliver: %v, want ErrNoRedeliver", err)
	}
}
