// Package uring submits batches of positioned reads of one size through a
// Linux io_uring (io_uring_setup(2), io_uring_enter(2); IORING_OP_READ,
// Linux 5.6 and later): one system call reads a whole batch, where pread
// costs one per read. psi/catalog reads the slots of catalogs held beyond
// its resident budget this way (docs/protocol/catalog.md, "What is
// resident").
//
// Only what that needs is here: a Ring, used by one goroutine at a time,
// reads up to Entries values of a fixed size from a file into a buffer of
// its own, mapped outside the Go heap, so that the kernel never writes into
// memory the garbage collector manages, whatever happens to a request. It
// uses no cgo and no library: the ring is the kernel's documented ABI,
// mapped with golang.org/x/sys/unix.
//
// What it does not promise: it is not a general io_uring binding (reads
// only, no registered files or buffers, no polling); it needs io_uring to
// be allowed (New fails with ErrUnsupported where it is not: other systems,
// old kernels, kernel.io_uring_disabled, a seccomp filter), so callers keep
// a pread path.
package uring
