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
)
