package recon

import (
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

var (
	// ErrNotAdmitted is a responder's policy refusing a reconciliation.
	ErrNotAdmitted = errors.New("recon: not admitted by the responder's policy")
	// ErrUnknownList is a list name the node does not have.
	ErrUnknownList = errors.New("recon: unknown list")
	// ErrPeerChunk is a chunk from the peer that fails its checks: its
	// record signature, its place in the stream or its proof. The
	// reconciliation ends; the transcript keeps the evidence.
	ErrPeerChunk = errors.New("recon: peer chunk rejected")
	// ErrHeader is a header from the responder that does not echo what was
	// asked, or is not signed by it.
	ErrHeader = errors.New("recon: bad header")
	// ErrSession is a step naming no reconciliation in progress.
	ErrSession = errors.New("recon: no such reconciliation")
	// ErrSequence is a (period, sequence) already used with this peer.
	ErrSequence = errors.New("recon: sequence already used")
	// ErrBusy is a responder at its limit of reconciliations in progress.
	ErrBusy = errors.New("recon: too many reconciliations in progress")
	// ErrRequest is a reconciliation request this node cannot start: an
	// unknown mode, a bad responder or list name.
	ErrRequest = errors.New("recon: bad request")
	// ErrUnknown is a reconciliation id this node does not know.
	ErrUnknown = errors.New("recon: unknown reconciliation")
	// ErrRunning is a reconciliation resumed while it runs.
	ErrRunning = errors.New("recon: reconciliation already running")
	// ErrListChanged is a list that no longer holds the items a
	// reconciliation resumed over it masked before.
	ErrListChanged = errors.New("recon: list changed")
	// ErrEmptyList is a list with no valid entry.
	ErrEmptyList = errors.New("recon: list has no entries")
	// ErrNoPrice is a reconciliation the ledger sets no usable
	// reconciliation price for: the contract would refuse its entry.
	ErrNoPrice = errors.New("recon: no reconciliation price")
)

// refuse returns a PeerError response. The text must hold no identifier
// or secret: it ends up in the peer's logs.
func refuse(code riskmeshv1.ErrorCode, format string, args ...any) *riskmeshv1.PeerResponse {
	return peer.Refusal(code, fmt.Sprintf(format, args...))
}

const (
	codeMalformed   = riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED
	codeNotAdmitted = riskmeshv1.ErrorCode_ERROR_CODE_NOT_ADMITTED
	codeNotFound    = riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND
	codeReplayed    = riskmeshv1.ErrorCode_ERROR_CODE_REPLAYED_SEQUENCE
	codeBadSig      = riskmeshv1.ErrorCode_ERROR_CODE_BAD_SIGNATURE
	codeUnavailable = riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE
	codeInternal    = riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL
)
