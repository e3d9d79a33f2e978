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
	// ErrChunkSize reports an empty chunk, one over MaxChunkSize, or one
	// whose length differs from what its stream position requires.
	ErrChunkSize = errors.New("ecdh: chunk has the wrong number of points")
	// ErrChunkKind reports a chunk of a stream this party does not receive
	// at this point of the reconciliation.
	ErrChunkKind = errors.New("ecdh: chunk of an unexpected stream")
	// ErrReplay reports a chunk whose sequence number was already handled,
	// outside a Rewind, or a resent chunk that differs from the original.
	ErrReplay = errors.New("ecdh: chunk replayed")
	// ErrSequence reports a chunk ahead of the next one the stream expects.
	ErrSequence = errors.New("ecdh: chunk out of sequence")
	// ErrProof reports an answer whose batched DLEQ proof fails: the peer
	// did not raise the chunk to the key it committed to.
	ErrProof = errors.New("ecdh: answer does not prove the committed exponent")
	// ErrWindow reports more unanswered chunks than MaxWindow.
	ErrWindow = errors.New("ecdh: too many unanswered chunks")
	// ErrCommitment reports a peer key commitment that is not a valid
	// non-identity point, or a step that needs it before Start.
	ErrCommitment = errors.New("ecdh: invalid or missing key commitment")
	// ErrCheckpoint reports a checkpoint or set log that is malformed or
	// inconsistent with itself or with the items it is resumed with.
	ErrCheckpoint = errors.New("ecdh: invalid checkpoint")
	// ErrFailed reports a step on a reconciliation that already failed.
	ErrFailed = errors.New("ecdh: reconciliation already failed")
	// ErrLabelKey reports a label whose key names none of this side's
	// matches, or repeats or reorders one.
	ErrLabelKey = errors.New("ecdh: label for an item that did not match")
	// ErrLabelCount reports a label chunk with more or fewer labels than
	// the matches and its position allow.
	ErrLabelCount = errors.New("ecdh: wrong number of labels")
	// ErrLabelMatches reports a label exchange started over matches that
	// are not the reconciliation's: incomplete (a side resumed after a
	// crash lost those before it), repeated or out of range.
	ErrLabelMatches = errors.New("ecdh: matches incomplete for a label exchange")
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
