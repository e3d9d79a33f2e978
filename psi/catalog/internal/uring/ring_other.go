//go:build !linux

package uring

// Ring is io_uring's ring, which only Linux has.
type Ring struct{}

// New fails: only Linux has io_uring.
func New(entries, size int) (*Ring, error) { return nil, ErrUnsupported }

// Entries returns 0.
func (r *Ring) Entries() int { return 0 }

// ReadAt fails: no Ring exists here.
func (r *Ring) ReadAt(fd int, offs []int64) ([]byte, error) { return nil, ErrUnsupported }

// Close does nothing.
func (r *Ring) Close() error { return nil }
