package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// hashChunk is how much of a mapped file Open hashes before handing the
// pages back to the kernel, so that verifying a large catalog does not
// keep all of it resident.
const hashChunk = 1 << 20

// mappedBytes counts the bytes of catalog files currently mapped.
var mappedBytes atomic.Int64

// MappedBytes returns how many bytes of catalog files Open has mapped and
// not yet released. Mapped pages live in the kernel's page cache, not in
// the Go heap; how many of them the process keeps resident is bounded by
// the resident budget (SetResidentBudget).
func MappedBytes() int64 { return mappedBytes.Load() }

// Open reads the catalog file at path with the checks, limits and digest
// comparison of Decode, but on platforms that can it maps the file
// read-only instead of copying its slot array into the heap: a node holding
// many providers' catalogs then keeps in memory at most the resident budget
// of them (SetResidentBudget), not their size (docs/protocol/catalog.md,
// "What is resident").
//
// The digest is computed over the mapped bytes themselves, and look-ups
// read the same file, mapped or with positioned reads, so what is verified
// is what look-ups read. The file must stay unchanged while the catalog is
// in use: renaming another file over it or removing it is safe (the open
// file keeps the old one alive), writing to it in place is not, and
// truncating it makes look-ups fail (Err) or fault. The caller keeps it
// immutable. The file is closed and unmapped once the Catalog is
// unreachable, so a look-up in flight never reads released memory.
//
// Where mapping is not available Open falls back to Decode.
func Open(path string, cfg DecodeConfig) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	c, err := openFile(f, path, cfg)
	if c == nil || c.mapped == nil {
		f.Close() // read only, and nothing refers to it: the error is moot
	}
	return c, err
}

// openFile is Open on the opened file f. The returned Catalog keeps f
// only if it maps it.
func openFile(f *os.File, path string, cfg DecodeConfig) (*Catalog, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("catalog: %s is not a regular file", path)
	}
	if _, maxBytes := cfg.limits(); st.Size() > maxBytes {
		return nil, fmt.Errorf("%w: file of %d bytes, limit %d", ErrLimit, st.Size(), maxBytes)
	}
	data, err := mapFile(f, int(st.Size()))
	if errors.Is(err, errNoMapping) {
		return Decode(bufio.NewReaderSize(f, readChunk), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: map %s: %w", path, err)
	}
	c, err := fromMapping(data, cfg)
	if err != nil {
		unmapFile(data)
		return nil, err
	}
	size := int64(len(data))
	c.mapped = &mapping{file: f, fd: int(f.Fd()), slotsAt: size - int64(len(c.slots)), size: size}
	c.mapped.resident.Store(claimResident(size))
	mappedBytes.Add(size)
	runtime.AddCleanup(c, func(m *mapping) {
		unmapFile(data)
		m.release()
		mappedBytes.Add(-size)
	}, c.mapped)
	return c, nil
}

// fromMapping parses and verifies a whole encoding held in data, which
// the returned Catalog's slots then point into.
func fromMapping(data []byte, cfg DecodeConfig) (*Catalog, error) {
	c, hdrLen, slotBytes, err := readCheckedHeader(bytes.NewReader(data), cfg)
	if err != nil {
		return nil, err
	}
	switch rest := len(data) - hdrLen; {
	case rest < slotBytes:
		return nil, fmt.Errorf("%w: truncated slots (%d of %d bytes)", ErrMalformed, rest, slotBytes)
	case rest > slotBytes:
		return nil, ErrTrailingData
	}
	h := labelhash.New(DomainDigest)
	for off := 0; off < len(data); off += hashChunk {
		chunk := data[off:min(off+hashChunk, len(data))]
		h.Write(chunk) // a hash.Hash never fails
		dropPages(chunk)
	}
	if err := c.checkDigest(h.Sum(nil), cfg); err != nil {
		return nil, err
	}
	c.slots = data[hdrLen:len(data):len(data)]
	return c, nil
}
