package ecdh

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed reports a message that is truncated or does not follow the encoding.
	ErrMalformed = errors.New("ecdh: malformed message")
	// ErrVersion reports a message with an unsupported version byte.
	ErrVersion = errors.New("ecdh: unsupported message version")
	// ErrMessageType reports a message of another kind than the decoder expects.
	ErrMessageType = errors.New("ecdh: unexpected message type")
	// ErrMode reports an unknown mode.
	ErrMode = errors.New("ecdh: unknown mode")
	// ErrTrailingBytes reports bytes after the end of a message.
	ErrTrailingBytes = errors.New("ecdh: trailing bytes after message")
	// ErrSetTooLarge reports a set or message vector longer than MaxSetSize.
	ErrSetTooLarge = errors.New("ecdh: set larger than MaxSetSize")
	// ErrInvalidPoint reports a byte string that is not a canonical ristretto255 encoding.
	ErrInvalidPoint = errors.New("ecdh: invalid point encoding")
	// ErrIdentityPoint reports the identity element, which no honest party sends.
	ErrIdentityPoint = errors.New("ecdh: identity point")
	// ErrDuplicatePoint reports a repeated point where an honest peer's points are distinct.
	ErrDuplicatePoint = errors.New("ecdh: duplicate point in message")
	// ErrDuplicateItem reports a repeated item in a party's own set.
	ErrDuplicateItem = errors.New("ecdh: duplicate item in set")
	// ErrSessionMismatch reports a message that belongs to another session.
	ErrSessionMismatch = errors.New("ecdh: message belongs to another session")
	// ErrModeMismatch reports a message for another mode than the party runs.
	ErrModeMismatch = errors.New("ecdh: message mode differs from the session's mode")
	// ErrCountMismatch reports a vector whose length differs from the one it answers.
	ErrCountMismatch = errors.New("ecdh: message has the wrong number of points")
	// ErrOutOfOrder reports a protocol step called twice or before the step it follows.
	ErrOutOfOrder = errors.New("ecdh: protocol step out of order")
)

// PointError locates a rejected point in a message so that a caller can log
// which element a peer got wrong. It wraps ErrInvalidPoint or ErrIdentityPoint.
type PointError struct {
	Field string // message field, e.g. "Reply.Masked"
	Index int    // position in that field
	Err   error
}

func (e *PointError) Error() string {
	return fmt.Sprintf("%v: %s[%d]", e.Err, e.Field, e.Index)
}

func (e *PointError) Unwrap() error { return e.Err }
