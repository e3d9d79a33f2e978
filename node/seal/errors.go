package seal

import "errors"

var (
	// ErrKEK is returned when the key-encryption key does not unwrap the
	// data key: the token key is gone or another one, or the passphrase
	// is wrong.
	ErrKEK = errors.New("seal: the key-encryption key does not unwrap the data key (lost HSM key or wrong passphrase)")
	// ErrNoKeyring is returned by Open when the keyring file is missing.
	ErrNoKeyring = errors.New("seal: no keyring")
	// ErrExists is returned by Create instead of replacing a keyring.
	ErrExists = errors.New("seal: keyring already exists")
	// ErrMalformed is returned for a keyring file, record or stream that
	// is not in the format.
	ErrMalformed = errors.New("seal: malformed")
	// ErrOtherKey is returned for a record sealed under another data key
	// than the keyring's: the keyring file was replaced or lost.
	ErrOtherKey = errors.New("seal: sealed under another data key (was the keyring replaced?)")
	// ErrOpen is returned for a record or stream that does not
	// authenticate at its location: altered, truncated, or moved.
	ErrOpen = errors.New("seal: record does not authenticate at its location")
)
