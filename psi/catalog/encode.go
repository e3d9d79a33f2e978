package catalog

import (
	"fmt"
	"io"
	"runtime"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// Encoding constants.
const (
	// Magic starts every catalog encoding.
	Magic = "RMCT"
	// FormatVersion is the only encoding version this package writes and
	// accepts.
	FormatVersion = 1
	// DigestSize is the size of the catalog digest (SHA-256).
	DigestSize = labelhash.Size
)

const (
	// fixedTail is the header after the category: period, key id, item
	// count, seed, arity, segment length, segment count, value size.
	fixedTail = 8 + KeyIDSize + 8 + 8 + 1 + 4 + 4 + 2
	// maxHeaderSize bounds the encoded header.
	maxHeaderSize = len(Magic) + 2 + 1 + MaxSuiteLen + 1 + MaxProviderLen + 1 + MaxCategoryLen + fixedTail
	// writeChunk is how much of the slot array Encode hands to the writer
	// at once.
	writeChunk = 1 << 20
)

// header returns the encoded header:
//
//	[4]  magic "RMCT"
//	u16  format version (1)
//	u8   length, suite
//	u8   length, provider MSP id
//	u8   length, category
//	u64  period
//	[32] OPRF key id
//	u64  item count
//	u64  seed
//	u8   arity (3 or 4)
//	u32  segment length
//	u32  segment count
//	u16  value size (20)
//
// integers big-endian. The slot array follows the header.
func (c *Catalog) header() []byte {
	m := &c.meta
	b := cryptobyte.NewBuilder(make([]byte, 0, maxHeaderSize))
	b.AddBytes([]byte(Magic))
	b.AddUint16(FormatVersion)
	for _, s := range []string{m.Suite, m.Provider, m.Category} {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	}
	b.AddUint64(m.Period)
	b.AddBytes(m.KeyID[:])
	b.AddUint64(c.items)
	b.AddUint64(c.params.Seed)
	b.AddUint8(c.params.Arity)
	b.AddUint32(c.params.SegmentLength)
	b.AddUint32(c.params.SegmentCount)
	b.AddUint16(ValueSize)
	// Every field was validated when the catalog was built or decoded, so
	// the builder cannot fail.
	return b.BytesOrPanic()
}

// EncodedLen returns the length of the encoding Encode writes, so that the
// encoding can be served in ranges.
func (c *Catalog) EncodedLen() int64 {
	return int64(len(c.header())) + int64(len(c.slots))
}

// Encode writes the catalog's encoding (header, then slot array) to w and
// returns its digest. The encoding is a deterministic function of the
// catalog, so it can be served and resumed in byte ranges.
func (c *Catalog) Encode(w io.Writer) ([DigestSize]byte, error) {
	h := labelhash.New(DomainDigest)
	mw := io.MultiWriter(w, h)
	if _, err := mw.Write(c.header()); err != nil {
		return [DigestSize]byte{}, fmt.Errorf("catalog: write header: %w", err)
	}
	for off := 0; off < len(c.slots); off += writeChunk {
		end := min(off+writeChunk, len(c.slots))
		if _, err := mw.Write(c.slots[off:end]); err != nil {
			return [DigestSize]byte{}, fmt.Errorf("catalog: write slots: %w", err)
		}
	}
	runtime.KeepAlive(c) // a mapped catalog's slots are released with c (Open)
	return [DigestSize]byte(h.Sum(nil)), nil
}

func (c *Catalog) computeDigest() [DigestSize]byte {
	d, _ := c.Encode(io.Discard) // io.Discard never fails
	return d
}
