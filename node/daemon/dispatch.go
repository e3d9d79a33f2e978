package daemon

import (
	"context"

	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// peerHandler answers the provider's peer requests (node/provider's
// *Provider implements it).
type peerHandler interface {
	Handle(ctx context.Context, p peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse
}

// dispatcher routes a peer request: ledger calls and registry watches to
// the relay (on the ledger host), everything else to the provider side, but
// only for active institutions of the registry: a consortium member the
// transport admitted for the relay alone gets UNKNOWN_PEER for anything
// else.
type dispatcher struct {
	active   func(fp [32]byte) (string, error) // the registry's Authorize
	relay    ledgerrelay.Handler               // nil unless hosting the ledger
	watch    ledgerrelay.Watcher               // nil unless hosting the ledger
	provider peerHandler                       // nil unless providing
	recon    peerHandler                       // nil unless reconciling
	// committed is called after the relay committed a transaction (the
	// registry's Poke); nil unless hosting the ledger.
	committed func()
}

func (d *dispatcher) handle(ctx context.Context, p peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	if call := req.GetLedgerInvoke(); call != nil {
		if d.relay == nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "this node does not host the ledger")
		}
		resp := d.relay(ctx, p, call)
		if call.GetSubmit() && resp.GetLedgerResult() != nil && d.committed != nil {
			d.committed()
		}
		return resp
	}
	if w := req.GetLedgerWatch(); w != nil {
		if d.watch == nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "this node does not host the ledger")
		}
		return d.watch(ctx, p, w)
	}
	if msp, err := d.active(p.Fingerprint); err != nil || msp != p.MSPID {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER, "not an active institution of the registry")
	}
	if recon.Handles(req) {
		if d.recon == nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "this node reconciles no lists")
		}
		return d.recon.Handle(ctx, p, req)
	}
	if d.provider == nil {
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "this node provides no lists")
	}
	return d.provider.Handle(ctx, p, req)
}

func peerError(code riskmeshv1.ErrorCode, msg string) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{Code: code, Message: msg}}}
}
