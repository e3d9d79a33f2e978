//go:build linux

package groupcommit

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data and the metadata needed to read it back
// (fdatasync: not its times).
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// allocate reserves size bytes for f, which reads as zeros until written.
func allocate(f *os.File, size int64) error { return unix.Fallocate(int(f.Fd()), 0, 0, size) }
