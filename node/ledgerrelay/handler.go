package ledgerrelay

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Handler answers one relayed ledger call from an authenticated peer. The
// node's peer.Handler hands it the ledger_invoke bodies.
type Handler func(ctx context.Context, from peer.Identity, call *riskmeshv1.LedgerInvoke) *riskmeshv1.PeerResponse

// contractFunctions are the functions the relay carries: all of the
// contract's, and nothing else.
var contractFunctions = chaincode.Functions()

// retryAfterClosed is the hint sent while the ledger is closed (the host is
// shutting down or restarting).
const retryAfterClosedMs = 1000

// NewHandler returns the Handler of the node hosting store. Each call runs
// as from.MSPID, the identity the peer transport authenticated, never as an
// identity named in the message. admit, if not nil, is asked first, on
// every call (Registered is the host's rule); a refusal is a contract-style
// forbidden, and a failure to decide is answered as the ledger's own
// failures are.
//
// Calls the relay refuses itself (unknown function, oversized argument,
// a query submitted or a transaction evaluated) are refused exactly as the
// contract would refuse them, with ERROR_CODE_LEDGER_REJECTED and the
// contract's invalid_argument code.
func NewHandler(store *accounting.EmbeddedStore, admit Admission) Handler {
	return func(ctx context.Context, from peer.Identity, call *riskmeshv1.LedgerInvoke) *riskmeshv1.PeerResponse {
		if admit != nil {
			if refused := admission(ctx, admit, from); refused != nil {
				return refused
			}
		}
		fn, arg := call.GetFunction(), call.GetArgument()
		switch {
		case len(fn) > riskmeshv1.MaxLedgerFunction || !slices.Contains(contractFunctions, fn):
			return rejected(chaincode.CodeInvalidArgument, fmt.Sprintf("unknown function %.64q", fn))
		case len(arg) > riskmeshv1.MaxLedgerArgument:
			return rejected(chaincode.CodeInvalidArgument,
				fmt.Sprintf("argument of %d bytes exceeds the relay's %d", len(arg), riskmeshv1.MaxLedgerArgument))
		}
		inv, err := store.Invoker(from.MSPID)
		if err != nil {
			return rejected(chaincode.CodeInvalidArgument, "caller's MSP id is not valid on the ledger")
		}
		// The call goes to the contract exactly as encoded by the caller's
		// accounting.Client: the contract validates it, and checks such as
		// "a query is evaluated, not submitted" are the embedded ledger's.
		invoke := inv.Evaluate
		if call.GetSubmit() {
			invoke = inv.Submit
		}
		res, err := invoke(ctx, fn, arg)
		if err != nil {
			return failure(ctx, err)
		}
		if len(res) > riskmeshv1.MaxLedgerResult {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL,
				fmt.Sprintf("%s result of %d bytes exceeds the relay's %d", fn, len(res), riskmeshv1.MaxLedgerResult), 0)
		}
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_LedgerResult{
			LedgerResult: &riskmeshv1.LedgerResult{Result: res},
		}}
	}
}

// failure maps a ledger call's error to the PeerError the caller's Invoker
// classifies: contract rejections keep their code; a closed ledger or an
// ended context is UNAVAILABLE; anything else is INTERNAL.
func failure(ctx context.Context, err error) *riskmeshv1.PeerResponse {
	var ce *chaincode.Error
	switch {
	case errors.As(err, &ce):
		return rejected(ce.Code, ce.Detail)
	case errors.Is(err, accounting.ErrClosed):
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "ledger closed", retryAfterClosedMs)
	case ctx.Err() != nil:
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "ledger call did not finish in time", 0)
	default:
		return peerError(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "ledger host failure", 0)
	}
}

// rejected is a contract rejection in the contract's own error form, which
// accounting.ParseError recovers on the caller's side.
func rejected(code chaincode.Code, detail string) *riskmeshv1.PeerResponse {
	msg := (&chaincode.Error{Code: code, Detail: detail}).Error()
	return peerError(riskmeshv1.ErrorCode_ERROR_CODE_LEDGER_REJECTED, msg, 0)
}

func peerError(code riskmeshv1.ErrorCode, msg string, retryAfterMs uint32) *riskmeshv1.PeerResponse {
	// protobuf strings must be UTF-8, and a contract detail echoing a
	// caller's bytes must reach the caller's logs as one printable line.
	msg = printable.String(msg, riskmeshv1.MaxErrorMessage)
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
		Code: code, Message: msg, RetryAfterMs: retryAfterMs,
	}}}
}

// Route returns a peer.Handler that answers ledger_invoke requests with h
// and passes every other request to next. With next nil the node serves
// only the relay and refuses other requests as MALFORMED (a requester sent
// them to the wrong node).
func (h Handler) Route(next peer.Handler) peer.Handler {
	return func(ctx context.Context, from peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		if call := req.GetLedgerInvoke(); call != nil {
			return h(ctx, from, call)
		}
		if next == nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "this node serves only ledger calls", 0)
		}
		return next(ctx, from, req)
	}
}
