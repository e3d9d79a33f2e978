package catalog

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/growbuf"
	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// Default decoder limits, used where DecodeConfig leaves a field zero.
const (
	// DefaultMaxItems admits 2^25 (about 33.5 million) items per catalog,
	// three times the 10^7 items a large provider list is sized for.
	DefaultMaxItems = 1 << 25
	// DefaultMaxBytes admits encodings up to 1 GiB. A 10^7-item catalog is
	// about 225 MB.
	DefaultMaxBytes = 1 << 30
	// readChunk is the initial buffer for the slot array: the buffer then
	// grows with the data actually received, so a header that announces a
	// large array cannot make the decoder allocate it before the bytes
	// arrive.
	readChunk = 1 << 20
)

// DecodeConfig bounds what Decode accepts. Its zero value works.
type DecodeConfig struct {
	// MaxItems is the largest item count accepted; zero means
	// DefaultMaxItems. Values above MaxItems are lowered to MaxItems.
	MaxItems uint64
	// MaxBytes is the largest whole encoding accepted; zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// ExpectedDigest, if not nil, is the digest published on the ledger;
	// Decode fails with ErrDigestMismatch if the encoding's digest differs.
	ExpectedDigest *[DigestSize]byte
}

func (cfg *DecodeConfig) limits() (maxItems uint64, maxBytes int64) {
	maxItems, maxBytes = cfg.MaxItems, cfg.MaxBytes
	if maxItems == 0 {
		maxItems = DefaultMaxItems
	}
	maxItems = min(maxItems, MaxItems)
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return maxItems, maxBytes
}

// Decode reads one catalog encoding from r, which must end right after it.
// It checks every header field and every size against cfg before
// allocating, rejects unknown versions, inconsistent parameters and
// trailing bytes, and compares the digest with cfg.ExpectedDigest if set.
func Decode(r io.Reader, cfg DecodeConfig) (*Catalog, error) {
	h := labelhash.New(DomainDigest)
	tr := io.TeeReader(r, h)

	c, _, slotBytes, err := readCheckedHeader(tr, cfg)
	if err != nil {
		return nil, err
	}
	if c.slots, err = readSlots(tr, slotBytes); err != nil {
		return nil, err
	}
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return nil, ErrTrailingData
	case err != io.EOF:
		return nil, fmt.Errorf("catalog: read after slots: %w", err)
	}
	if err := c.checkDigest(h.Sum(nil), cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// readCheckedHeader reads and parses one header from r and checks it
// against cfg's limits: it returns the Catalog without its slots and
// digest, the header's length and the length of the slot array that must
// follow.
func readCheckedHeader(r io.Reader, cfg DecodeConfig) (c *Catalog, hdrLen, slotBytes int, err error) {
	hdr, err := readHeader(r)
	if err != nil {
		return nil, 0, 0, err
	}
	if c, err = parseHeader(hdr); err != nil {
		return nil, 0, 0, err
	}
	if slotBytes, err = c.checkLimits(len(hdr), cfg); err != nil {
		return nil, 0, 0, err
	}
	return c, len(hdr), slotBytes, nil
}

// checkLimits checks a parsed header, of hdrLen bytes, against cfg's
// limits and returns the length of the slot array that must follow.
func (c *Catalog) checkLimits(hdrLen int, cfg DecodeConfig) (int, error) {
	maxItems, maxBytes := cfg.limits()
	if c.items > maxItems {
		return 0, fmt.Errorf("%w: %d items, limit %d", ErrLimit, c.items, maxItems)
	}
	slotBytes := c.params.slots() * ValueSize // at most MaxSlots * 20: no overflow
	if slotBytes > uint64(maxBytes) || int64(hdrLen)+int64(slotBytes) > maxBytes {
		return 0, fmt.Errorf("%w: %d bytes of slots, limit %d in all", ErrLimit, slotBytes, maxBytes)
	}
	return int(slotBytes), nil
}

// checkDigest records the encoding's digest and compares it with cfg's.
func (c *Catalog) checkDigest(sum []byte, cfg DecodeConfig) error {
	c.digest = [DigestSize]byte(sum)
	if cfg.ExpectedDigest != nil && *cfg.ExpectedDigest != c.digest {
		return ErrDigestMismatch
	}
	return nil
}

// readHeader reads exactly one header's bytes, using its length prefixes
// to know how much to read and checking each against its bound first.
func readHeader(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, maxHeaderSize)
	read := func(n int) error {
		start := len(buf)
		buf = buf[:start+n]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: truncated header", ErrMalformed)
			}
			return fmt.Errorf("catalog: read header: %w", err)
		}
		return nil
	}
	if err := read(len(Magic) + 2 + 1); err != nil {
		return nil, err
	}
	if string(buf[:len(Magic)]) != Magic {
		return nil, ErrMagic
	}
	if v := uint16(buf[4])<<8 | uint16(buf[5]); v != FormatVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	// Each string is followed by the next length byte (or the fixed tail).
	for i, limit := range []int{MaxSuiteLen, MaxProviderLen, MaxCategoryLen} {
		n := int(buf[len(buf)-1])
		if n > limit {
			return nil, fmt.Errorf("%w: string %d of %d bytes", ErrMeta, i, n)
		}
		next := 1
		if i == 2 {
			next = fixedTail
		}
		if err := read(n + next); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// parseHeader parses and validates a header read by readHeader. It returns
// a Catalog with everything but the slots and the digest.
func parseHeader(hdr []byte) (*Catalog, error) {
	s := cryptobyte.String(hdr)
	var (
		magic                     []byte
		version, valueSize        uint16
		suite, provider, category cryptobyte.String
		c                         Catalog
		keyID                     []byte
	)
	if !s.ReadBytes(&magic, len(Magic)) || !s.ReadUint16(&version) ||
		!s.ReadUint8LengthPrefixed(&suite) || !s.ReadUint8LengthPrefixed(&provider) ||
		!s.ReadUint8LengthPrefixed(&category) || !s.ReadUint64(&c.meta.Period) ||
		!s.ReadBytes(&keyID, KeyIDSize) || !s.ReadUint64(&c.items) ||
		!s.ReadUint64(&c.params.Seed) || !s.ReadUint8(&c.params.Arity) ||
		!s.ReadUint32(&c.params.SegmentLength) || !s.ReadUint32(&c.params.SegmentCount) ||
		!s.ReadUint16(&valueSize) {
		return nil, ErrMalformed
	}
	if !s.Empty() {
		return nil, ErrMalformed // readHeader reads exactly one header
	}
	c.meta.Suite, c.meta.Provider, c.meta.Category = string(suite), string(provider), string(category)
	copy(c.meta.KeyID[:], keyID)
	if err := c.meta.Validate(); err != nil {
		return nil, err
	}
	if valueSize != ValueSize {
		return nil, fmt.Errorf("%w: value size %d, want %d", ErrParams, valueSize, ValueSize)
	}
	if err := c.params.validate(); err != nil {
		return nil, fmt.Errorf("%w: arity %d, segment length %d, segment count %d",
			err, c.params.Arity, c.params.SegmentLength, c.params.SegmentCount)
	}
	if c.items > MaxItems || c.items > c.params.slots() {
		return nil, fmt.Errorf("%w: %d items in %d slots", ErrParams, c.items, c.params.slots())
	}
	c.layout = newLayout(c.params)
	return &c, nil
}

// readSlots reads exactly n bytes, growing the buffer as data arrives.
func readSlots(r io.Reader, n int) ([]byte, error) {
	buf, err := growbuf.ReadFull(r, n, readChunk)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w: truncated slots (%d of %d bytes)", ErrMalformed, len(buf), n)
	case err != nil:
		return nil, fmt.Errorf("catalog: read slots: %w", err)
	}
	return buf, nil
}
