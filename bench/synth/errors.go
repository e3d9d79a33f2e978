package synth

import "errors"

var (
	// ErrConfig reports a Config or BatchConfig out of range.
	ErrConfig = errors.New("synth: invalid configuration")
	// ErrExhausted reports that a batch asked for more identifiers of a
	// kind (hits, hits on several lists, other-category entries) than the
	// lists hold, or that unique identifiers ran out.
	ErrExhausted = errors.New("synth: not enough distinct identifiers")
	// ErrMismatch reports a query result that differs from a batch's
	// expected result.
	ErrMismatch = errors.New("synth: result differs from the expected result")
)
