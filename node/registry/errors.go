package registry

import "errors"

var (
	// ErrUnknownPeer is a certificate fingerprint no institution in the
	// current view has registered.
	ErrUnknownPeer = errors.New("registry: unknown certificate fingerprint")
	// ErrAmbiguous is a certificate fingerprint more than one institution
	// has registered: it authenticates neither (Conflict).
	ErrAmbiguous = errors.New("registry: certificate fingerprint registered by more than one institution")
	// ErrInactive is a registered institution that is not active.
	ErrInactive = errors.New("registry: institution not active")
)
