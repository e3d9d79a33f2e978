package peer

import (
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// RemoteError is a refusal by the remote peer, with the protocol's error
// code (docs/protocol/wire.md, "Errors" says what a requester does for each).
// It comes from a PeerError frame, from the peer closing the connection with
// an error code (a revocation, too many connections), or from the peer
// refusing our certificate in the TLS handshake (UNKNOWN_PEER).
type RemoteError struct {
	Code riskmeshv1.ErrorCode
	// Message is the peer's text made printable (internal/printable): at
	// most riskmeshv1.MaxErrorMessage bytes of valid UTF-8 without control
	// characters, whatever the peer sent.
	Message string
	// RetryAfter is the peer's hint for UNAVAILABLE and RATE_LIMITED; 0
	// means use your own back-off.
	RetryAfter time.Duration
	// Detail is the PeerError frame, or nil when the refusal was a
	// connection close or a handshake failure.
	Detail *riskmeshv1.PeerError
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("peer: refused by peer: %s: %s", e.Code, e.Message)
}

// remoteFromFrame converts a PeerError frame, making its message printable and
// mapping the never-sent UNSPECIFIED to INTERNAL as wire.md requires.
func remoteFromFrame(pe *riskmeshv1.PeerError) *RemoteError {
	code := pe.GetCode()
	if code == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
		code = riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL
	}
	return &RemoteError{
		Code:       code,
		Message:    message(pe.GetMessage()),
		RetryAfter: time.Duration(pe.GetRetryAfterMs()) * time.Millisecond,
		Detail:     pe,
	}
}

// remoteFromConn recognises a connection-level refusal by the peer: an
// application close whose code is a protocol error code, or a TLS alert the
// peer sent because it refused our certificate.
func remoteFromConn(err error) (*RemoteError, bool) {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		code := riskmeshv1.ErrorCode(ae.ErrorCode)
		if _, known := riskmeshv1.ErrorCode_name[int32(code)]; !known || ae.ErrorCode > 1<<31 ||
			code == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
			code = riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL
		}
		return &RemoteError{Code: code, Message: message(ae.ErrorMessage)}, true
	}
	var te *quic.TransportError
	if errors.As(err, &te) && te.Remote && te.ErrorCode.IsCryptoError() {
		return &RemoteError{
			Code:    riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER,
			Message: "handshake refused by peer: " + te.ErrorCode.Message(),
		}, true
	}
	return nil, false
}

// message bounds an error text that crosses the wire, either way.
func message(s string) string { return printable.String(s, riskmeshv1.MaxErrorMessage) }

// Refusal builds the PeerError frame a handler answers with; msg is made
// printable and bounded, and must hold no identifier or secret.
func Refusal(code riskmeshv1.ErrorCode, msg string) *riskmeshv1.PeerResponse {
	return errorResponse(code, msg, 0)
}

// RefusalAfter is Refusal with a retry hint, for UNAVAILABLE and
// RATE_LIMITED: the requester waits retryAfter (rounded up to the
// millisecond) before it sends again.
func RefusalAfter(code riskmeshv1.ErrorCode, msg string, retryAfter time.Duration) *riskmeshv1.PeerResponse {
	return errorResponse(code, msg, retryAfter)
}

// errorResponse builds the PeerError frame a server sends.
func errorResponse(code riskmeshv1.ErrorCode, msg string, retryAfter time.Duration) *riskmeshv1.PeerResponse {
	var ms uint32
	if retryAfter > 0 { // rounded up: retrying earlier is refused again
		ms = uint32(min((retryAfter+time.Millisecond-1)/time.Millisecond, 1<<32-1))
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
		Code:         code,
		Message:      message(msg),
		RetryAfterMs: ms,
	}}}
}
