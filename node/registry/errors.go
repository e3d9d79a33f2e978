package registry

import "errors"

var (
	// ErrUnknownPeer is a certificate fingerprint no institution in the
	// current view has registered.
	ErrUnknownPeer = errors.New("registry: unknown certificate fingerprint")
	// ErrInactive is a registered institution that is not active.
	ErrInactive = errors.New("registry: institution not active")
)
