package push

import "errors"

var (
	// ErrRejected wraps a delivery error the receiver will repeat for
	// this event whatever the wait (a webhook's 4xx other than 408 and
	// 429): the event goes to the dead store at once.
	ErrRejected = errors.New("push: receiver rejected the event")
	// ErrUnknownDestination reports a destination not configured.
	ErrUnknownDestination = errors.New("push: unknown destination")
	// ErrConfig reports an invalid Config or destination.
	ErrConfig = errors.New("push: invalid configuration")
	// ErrCorrupt reports a stored event that does not decode.
	ErrCorrupt = errors.New("push: corrupt stored event")
	// ErrSignature reports a webhook request whose signature does not
	// verify, or whose timestamp is outside the replay window.
	ErrSignature = errors.New("push: signature does not verify")
)
