package peer

import "errors"

// Sentinel errors. Errors a remote peer reports are *RemoteError values
// instead, carrying the protocol's error code.
var (
	// ErrEmptyFrame is a frame of length 0, which the protocol forbids.
	ErrEmptyFrame = errors.New("peer: empty frame")
	// ErrFrameTooLarge is a frame above the bound in force (see
	// FrameSizeError for the sizes).
	ErrFrameTooLarge = errors.New("peer: frame too large")
	// ErrMalformedFrame is a frame whose body is not a valid protobuf
	// encoding of the expected message, or whose envelope has no body.
	ErrMalformedFrame = errors.New("peer: malformed frame")
)
