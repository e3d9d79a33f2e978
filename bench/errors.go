package bench

import "errors"

var (
	// ErrConfig reports a Config out of range.
	ErrConfig = errors.New("bench: invalid configuration")
	// ErrWrongResult reports a protocol run whose intersection differs from
	// the planted one: the run stops rather than record its timing.
	ErrWrongResult = errors.New("bench: protocol returned a wrong result")
	// ErrMalformedCSV reports a results file or a baseline's output that
	// does not follow the format.
	ErrMalformedCSV = errors.New("bench: malformed CSV")
)
