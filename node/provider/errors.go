package provider

import (
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

var (
	// ErrUnknownSource reports a Refresh of a source name not configured.
	ErrUnknownSource = errors.New("provider: unknown list source")
	// ErrUnknownCategory reports a key operation on a category this
	// provider does not provide (no key in Config.Keys).
	ErrUnknownCategory = errors.New("provider: category not provided")
	// ErrRotateTooSoon is CheckRotate's answer while the key a rotation
	// would drop still backs a catalog requesters may query.
	ErrRotateTooSoon = errors.New("provider: OPRF key rotated too recently")
	// ErrKeyNotHeld reports a catalog published on the ledger under an
	// OPRF key that is neither the current nor the previous key: the node
	// can neither serve it nor publish another for its period.
	ErrKeyNotHeld = errors.New("provider: catalog published under an OPRF key this node does not hold")
	// ErrRedelivered reports an answer to a RedeliverRequest that is not a
	// transcript of the exchange asked for.
	ErrRedelivered = errors.New("provider: redelivered answer is not the exchange asked for")
	// ErrRebuiltDiffers reports a published catalog whose file was lost
	// and whose rebuild from today's lists has another digest: the node
	// cannot serve the published catalog, nor publish another for its
	// period.
	ErrRebuiltDiffers = errors.New("provider: rebuilt catalog differs from the one published")

	// errStatsFile is a catalog stats file that does not describe the
	// expected catalog or is damaged (catalogstats.go).
	errStatsFile = errors.New("catalog stats file unusable")
)

// retryAfterMs is the retry hint for UNAVAILABLE answers: about one
// registry refresh or a short build step.
const retryAfterMs = 1000

// refuse returns a PeerError response. msg must not contain identifiers or
// secrets: it ends up in the peer's logs.
func refuse(code riskmeshv1.ErrorCode, format string, args ...any) *riskmeshv1.PeerResponse {
	msg := printable.String(fmt.Sprintf(format, args...), riskmeshv1.MaxErrorMessage)
	pe := &riskmeshv1.PeerError{Code: code, Message: msg}
	if code == riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE {
		pe.RetryAfterMs = retryAfterMs
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: pe}}
}

// Shorthands for the codes the provider answers with.
const (
	codeMalformed   = riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED
	codeNotFound    = riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND
	codeUnknownPeer = riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER
	codeSuspended   = riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED
	codeOverLimit   = riskmeshv1.ErrorCode_ERROR_CODE_OVER_LIMIT
	codeReplayed    = riskmeshv1.ErrorCode_ERROR_CODE_REPLAYED_SEQUENCE
	codeTooLarge    = riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE
	codeUnavailable = riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE
	codeInternal    = riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL
	codeBadSig      = riskmeshv1.ErrorCode_ERROR_CODE_BAD_SIGNATURE
	codeStale       = riskmeshv1.ErrorCode_ERROR_CODE_STALE
	codeUnknownKey  = riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_KEY
)
