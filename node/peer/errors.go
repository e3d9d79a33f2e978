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
	// ErrNoPeerCertificate is a handshake in which the peer presented no
	// certificate.
	ErrNoPeerCertificate = errors.New("peer: no peer certificate")
	// ErrUnknownPeer is a peer certificate the Authorizer refused (or one
	// outside its validity period).
	ErrUnknownPeer = errors.New("peer: unknown peer")
	// ErrNoCertificate is a Config without a certificate of our own.
	ErrNoCertificate = errors.New("peer: config has no certificate")
	// ErrNoAuthorizer is a Config without an Authorizer.
	ErrNoAuthorizer = errors.New("peer: config has no authorizer")
	// ErrNoHandler is a server Config without a Handler.
	ErrNoHandler = errors.New("peer: config has no handler")
	// ErrNoBody is a request without a body, which has no valid answer.
	ErrNoBody = errors.New("peer: request has no body")
	// ErrNotSent wraps a Do failure before the whole request frame was
	// written (no stream could be opened, or writing it failed): the peer
	// cannot have read, answered or billed the request.
	ErrNotSent = errors.New("peer: request not sent")
)
