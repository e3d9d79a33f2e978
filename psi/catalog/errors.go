package catalog

import "errors"

var (
	ErrLabel          = errors.New("catalog: invalid label")
	ErrLabelVersion   = errors.New("catalog: unknown label version")
	ErrDate           = errors.New("catalog: listed date out of range")
	ErrPRFOutput      = errors.New("catalog: PRF output must be 32 to 64 bytes")
	ErrMeta           = errors.New("catalog: invalid metadata")
	ErrTooManyItems   = errors.New("catalog: too many items")
	ErrConflict       = errors.New("catalog: one PRF output added with two different labels")
	ErrBuildFailed    = errors.New("catalog: construction did not succeed within the attempt limit")
	ErrBuilt          = errors.New("catalog: builder already built")
	ErrMagic          = errors.New("catalog: not a catalog encoding")
	ErrVersion        = errors.New("catalog: unknown format version")
	ErrMalformed      = errors.New("catalog: malformed encoding")
	ErrParams         = errors.New("catalog: inconsistent construction parameters")
	ErrLimit          = errors.New("catalog: encoding exceeds the decoder's limits")
	ErrTrailingData   = errors.New("catalog: trailing data")
	ErrDigestMismatch = errors.New("catalog: digest does not match the expected digest")
	ErrAnswers        = errors.New("catalog: answers and PRF outputs differ in number")
)

// errNoMapping is a platform or file that cannot be mapped; Open then
// decodes into the heap.
var errNoMapping = errors.New("catalog: file mapping unavailable")
