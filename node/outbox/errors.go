package outbox

import "errors"

var (
	// ErrEntry reports an entry that cannot be journaled (bad header,
	// hash or signature sizes): it could never be recorded either.
	ErrEntry = errors.New("outbox: invalid entry")
	// ErrCorrupt reports a stored record that does not decode.
	ErrCorrupt = errors.New("outbox: corrupt journal record")
	// ErrConflict reports a second, different entry for a ledger key
	// already pending.
	ErrConflict = errors.New("outbox: a different entry is pending under this key")
)
