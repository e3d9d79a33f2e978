package identity

import "errors"

var (
	// ErrExists is returned by Generate and AddOPRFKey instead of
	// overwriting key material.
	ErrExists = errors.New("identity: already exists")
	// ErrPermissions is returned when a private key file is accessible to
	// group or others.
	ErrPermissions = errors.New("identity: key file accessible to group or others")
	// ErrTooLarge is returned for a file larger than MaxFileSize.
	ErrTooLarge = errors.New("identity: file too large")
	// ErrMalformed is returned for a file that is not the PEM block its name
	// promises, or whose content does not parse.
	ErrMalformed = errors.New("identity: malformed file")
	// ErrMismatch is returned when files of one identity disagree (a
	// certificate and a key that are not a pair).
	ErrMismatch = errors.New("identity: files do not match")
	// ErrCategory is returned for a category that is not a valid name.
	ErrCategory = errors.New("identity: invalid category")
	// ErrMSPID is returned for an MSP id that is not a valid name.
	ErrMSPID = errors.New("identity: invalid MSP id")
	// ErrNoOPRFKey is returned by RotateOPRFKey for a category without a key.
	ErrNoOPRFKey = errors.New("identity: no OPRF key for category")
	// ErrFingerprint is returned by ParseFingerprint for anything but the
	// 64 hex digits of a SHA-256 digest, run together or with a colon
	// between every two.
	ErrFingerprint = errors.New("identity: fingerprint must be the 64 hex digits of a SHA-256 digest, run together or with a colon between every two")
	// ErrToken is returned when the PKCS#11 token or its module fails, or
	// when a key lives in a token and none is configured.
	ErrToken = errors.New("identity: PKCS#11 token")
	// ErrTokenLogin is returned by OpenToken when the token refuses the PIN.
	ErrTokenLogin = errors.New("identity: PKCS#11 login refused")
	// ErrTokenNotFound is returned by OpenToken when no token has the label.
	ErrTokenNotFound = errors.New("identity: PKCS#11 token not found")
	// ErrKeyMissing is returned when a key the identity directory refers
	// to is no longer in the token: the node refuses to start rather than
	// run without it (docs/operations.md).
	ErrKeyMissing = errors.New("identity: key missing from the PKCS#11 token")
)
