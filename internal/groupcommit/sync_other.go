//go:build !linux

package groupcommit

import "os"

// datasync flushes f: without fdatasync, a full sync.
func datasync(f *os.File) error { return f.Sync() }

// allocate reserves size bytes for f, which reads as zeros until written.
func allocate(f *os.File, size int64) error { return f.Truncate(size) }
