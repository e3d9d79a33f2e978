package daemon

import (
	"context"
	"testing"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// recorder is a peer handler that remembers it was called.
type recorder struct{ called *bool }

func (r recorder) Handle(context.Context, peer.Identity, *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	*r.called = true
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{}}}
}

// TestDispatchReconciliation checks reconciliation requests go to the
// reconciler, never to the provider, and are refused NOT_FOUND by a node
// that reconciles nothing; an inactive peer is refused before either.
func TestDispatchReconciliation(t *testing.T) {
	active := func([32]byte) (string, error) { return "BankA", nil }
	who := peer.Identity{MSPID: "BankA"}
	open := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconOpen{ReconOpen: &riskmeshv1.ReconOpen{List: "loans"}}}

	var provided, reconciled bool
	d := &dispatcher{active: active, provider: recorder{&provided}}
	if pe := d.handle(t.Context(), who, open).GetError(); pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND || provided {
		t.Fatalf("without reconciliations: %v (provider called: %v)", pe, provided)
	}
	d.recon = recorder{&reconciled}
	if resp := d.handle(t.Context(), who, open); resp.GetReconStepped() == nil || !reconciled || provided {
		t.Fatalf("with reconciliations: %v", resp)
	}
	reconciled = false
	d.active = func([32]byte) (string, error) { return "", errNoResponder }
	if pe := d.handle(t.Context(), who, open).GetError(); pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER || reconciled {
		t.Fatalf("inactive peer: %v", pe)
	}
}
