package ident

import "errors"

// Sentinels for the kind of failure; every error this package returns is an
// *Error that wraps one of them.
var (
	ErrUnknownType = errors.New("ident: unknown identifier type")
	ErrEmpty       = errors.New("ident: empty identifier")
	ErrLength      = errors.New("ident: wrong length")
	ErrFormat      = errors.New("ident: malformed identifier")
	ErrChecksum    = errors.New("ident: check digit mismatch")
	ErrDate        = errors.New("ident: invalid date")
	ErrCountryCode = errors.New("ident: no country calling code")
)

// Error reports why an identifier was rejected. It names the type and the
// reason and never includes the identifier itself, so it is safe to log.
type Error struct {
	Type   Type
	Reason string // human-readable detail; never contains the input
	Err    error  // one of the sentinels above
}

func (e *Error) Error() string {
	t := string(e.Type)
	if t == "" {
		t = "unknown type"
	}
	return "ident: " + t + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrChecksum) and the like work.
func (e *Error) Unwrap() error { return e.Err }

func fail(t Type, kind error, reason string) error {
	return &Error{Type: t, Reason: reason, Err: kind}
}
