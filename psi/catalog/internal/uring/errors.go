package uring

import (
	"errors"
	"fmt"
)

var (
	// ErrUnsupported is a system where io_uring is not available to this
	// process: callers read another way.
	ErrUnsupported = errors.New("uring: io_uring unavailable")
	// ErrTooMany is a batch larger than the ring's Entries.
	ErrTooMany = errors.New("uring: more reads than the ring's entries")
	// ErrBroken is a ring whose kernel interface failed in a way that
	// leaves requests unaccounted for: it is never used again.
	ErrBroken = errors.New("uring: ring broken")
)

// A ReadError is a read of a batch that failed or came back short. Short
// reads (the file ends before the value does) have Err io.EOF, as
// os.File.ReadAt reports them.
type ReadError struct {
	Index  int   // the read's index in the batch
	Offset int64 // its offset in the file
	Err    error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("uring: read at offset %d: %v", e.Offset, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }
