//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package catalog

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the first size bytes of f read-only. Lookups touch three or
// four random slots each, so read-ahead around them would only fill memory:
// the mapping is advised as randomly accessed.
func mapFile(f *os.File, size int) ([]byte, error) {
	if size == 0 {
		return nil, errNoMapping // nothing to map; Decode reports the empty file
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	_ = unix.Madvise(data, unix.MADV_RANDOM) // advice only
	return data, nil
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(data []byte) {
	_ = unix.Munmap(data) // fails only for a range that is not a mapping
}

// dropPages hands a page-aligned part of a read-only file mapping back to
// the kernel: the bytes stay in the file and are read again on next use.
func dropPages(b []byte) {
	_ = unix.Madvise(b, unix.MADV_DONTNEED) // advice only
}
