package dispute_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// tamperer files with the real auditor and alters the verdict on the way
// back, as a network attacker or a false auditor would.
type tamperer struct {
	next   riskmeshv1.AuditorClient
	mutate func(v *riskmeshv1.AuditVerdict)
}

func (f tamperer) FileDispute(ctx context.Context, in *riskmeshv1.FileDisputeRequest, opts ...grpc.CallOption) (*riskmeshv1.FileDisputeResponse, error) {
	resp, err := f.next.FileDispute(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	resp = proto.Clone(resp).(*riskmeshv1.FileDisputeResponse)
	f.mutate(resp.Verdict)
	return resp, nil
}

// TestTamperedVerdictRefused: a verdict flipped, re-keyed, re-reasoned or
// attributed to another auditor is refused before anything reaches the
// ledger, and the entry stays charged.
func TestTamperedVerdictRefused(t *testing.T) {
	n := newNetwork(t, embedded)
	_, ac := n.client(t, audittest.Requester)
	honest := n.c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	key := n.c.Record(t, honest)
	tests := map[string]func(v *riskmeshv1.AuditVerdict){
		"verdict flipped to upheld": func(v *riskmeshv1.AuditVerdict) { v.Verdict = riskmeshv1.Verdict_VERDICT_UPHELD },
		"reason replaced":           func(v *riskmeshv1.AuditVerdict) { v.Reason = "upheld after all" },
		"another entry":             func(v *riskmeshv1.AuditVerdict) { v.Key.Sequence++ },
		"another auditor":           func(v *riskmeshv1.AuditVerdict) { v.Auditor = audittest.Provider },
		"no verdict":                func(v *riskmeshv1.AuditVerdict) { *v = riskmeshv1.AuditVerdict{} },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			dc, err := dispute.New(dispute.Config{Ledger: n.c.Requester.Ledger, Auditor: tamperer{ac, mutate}, AuditorMSP: audittest.Regulator})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dc.Dispute(audittest.Context(t), honest, "label believed wrong"); !errors.Is(err, dispute.ErrBadVerdict) {
				t.Fatalf("err %v, want ErrBadVerdict", err)
			}
		})
	}
	e, err := n.c.Requester.Ledger.Entry(audittest.Context(t), key)
	if err != nil || e.Reversal != nil {
		t.Fatalf("entry %+v, %v: want charged", e, err)
	}
}
