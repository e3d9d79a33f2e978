package ledgerrelay

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Watcher answers one member's LedgerWatch on the node that hosts the
// embedded ledger. The node's peer.Handler hands it the ledger_watch
// bodies.
type Watcher func(ctx context.Context, from peer.Identity, w *riskmeshv1.LedgerWatch) *riskmeshv1.PeerResponse

// NewWatcher returns the Watcher of the host whose registry view wait
// follows: wait returns the view's version once it differs from seen, or
// the same version when its own wait or ctx ends (the host's
// registry.Directory.WaitChange). admit, if not nil, is asked first, as
// NewHandler asks it; the answer is only a version number, so the host may
// admit by its registry view rather than by a ledger read.
//
// A watch lets a member refresh its registry view when the host's changes
// instead of polling the relay: an idle member then costs the host one
// request per wait instead of a refresh's three or four contract calls per
// interval (docs/operations.md, "Registry refresh").
func NewWatcher(wait func(ctx context.Context, seen uint64) uint64, admit Admission) Watcher {
	return func(ctx context.Context, from peer.Identity, w *riskmeshv1.LedgerWatch) *riskmeshv1.PeerResponse {
		if admit != nil {
			if refused := admission(ctx, admit, from); refused != nil {
				return refused
			}
		}
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LedgerChanged{
			LedgerChanged: &riskmeshv1.LedgerChanged{Version: wait(ctx, w.GetSeen())},
		}}
	}
}

// admission asks admit about from and returns the refusal to answer with,
// or nil if from is served.
func admission(ctx context.Context, admit Admission, from peer.Identity) *riskmeshv1.PeerResponse {
	switch err := admit(ctx, from); {
	case errors.Is(err, ErrNotAdmitted):
		return rejected(chaincode.CodeForbidden, "the ledger relay does not serve this certificate: "+err.Error())
	case err != nil:
		return failure(ctx, err)
	}
	return nil
}

// Watch returns a function that asks the ledger host, with do, for the
// version of its registry view once it differs from seen
// (registry.Options.Watch). Pass a ctx that outlives the host's wait
// (registry.WatchWait).
func Watch(do Doer) func(ctx context.Context, seen uint64) (uint64, error) {
	return func(ctx context.Context, seen uint64) (uint64, error) {
		resp, err := do(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LedgerWatch{
			LedgerWatch: &riskmeshv1.LedgerWatch{Seen: seen},
		}})
		if err != nil {
			return 0, classify("registry watch", err)
		}
		changed := resp.GetLedgerChanged()
		if changed == nil {
			return 0, fmt.Errorf("%w: registry watch answered without a version", ErrBadAnswer)
		}
		return changed.GetVersion(), nil
	}
}
