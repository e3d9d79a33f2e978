package hepsi

import "errors"

var (
	ErrParams       = errors.New("hepsi: invalid parameters")
	ErrItem         = errors.New("hepsi: item must be a PRF output of 32 to 64 bytes")
	ErrLabel        = errors.New("hepsi: label has the wrong size")
	ErrBatch        = errors.New("hepsi: batch size out of range")
	ErrCuckoo       = errors.New("hepsi: cuckoo hashing failed for this batch")
	ErrDuplicate    = errors.New("hepsi: item already in the database")
	ErrNotFound     = errors.New("hepsi: item not in the database")
	ErrFull         = errors.New("hepsi: database has no room for the item")
	ErrMalformed    = errors.New("hepsi: malformed encoding")
	ErrVersion      = errors.New("hepsi: unknown format version")
	ErrLimit        = errors.New("hepsi: encoding exceeds the decoder's limits")
	ErrTrailingData = errors.New("hepsi: trailing data")
	ErrMismatch     = errors.New("hepsi: message does not belong to these parameters or this query")
	ErrUnknownKey   = errors.New("hepsi: evaluation key unknown to the provider; send it again")
)
