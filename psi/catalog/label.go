package catalog

import (
	"encoding/binary"
	"fmt"
	"time"
)

// LabelSize is the fixed size of an encoded Label. Every item carries exactly
// this many bytes, so a catalog's size reveals the item count and nothing
// about the labels.
const LabelSize = 16

// LabelVersion is the only label layout this package writes and accepts.
const LabelVersion = 1

// Label is what a provider says about one listed identifier. Its encoding is
//
//	[0]      version (LabelVersion)
//	[1]      category code (consortium-defined, 1..255; 0 is invalid)
//	[2:4]    reason code, uint16 big-endian
//	[4:8]    listed date, days since 1970-01-01, uint32 big-endian
//	[8:16]   provider reference (opaque to RiskMesh, e.g. a case number)
type Label struct {
	// Category is the consortium's numeric code for the list the entry is
	// on (for example 1 = black, 2 = grey, 3 = yellow). Zero means unset
	// and is rejected, so that an all-zero plaintext is never a valid label.
	Category uint8
	// Reason is the provider's reason code, meaningful under the
	// consortium's code table; every value is accepted.
	Reason uint16
	// Listed is the civil date the entry was listed.
	Listed Date
	// Reference lets the requester quote the entry back to the provider
	// (in a dispute or a follow-up) without revealing the identifier.
	Reference [8]byte
}

// Validate checks the label's fields.
func (l Label) Validate() error {
	if l.Category == 0 {
		return fmt.Errorf("%w: category 0", ErrLabel)
	}
	if l.Listed > MaxDate {
		return fmt.Errorf("%w: %d days", ErrDate, uint32(l.Listed))
	}
	return nil
}

// MarshalBinary returns the 16-byte encoding of a valid label.
func (l Label) MarshalBinary() ([]byte, error) {
	var b [LabelSize]byte
	if err := l.put(&b); err != nil {
		return nil, err
	}
	return b[:], nil
}

// UnmarshalBinary parses exactly LabelSize bytes and validates the result.
func (l *Label) UnmarshalBinary(data []byte) error {
	if len(data) != LabelSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrLabel, len(data), LabelSize)
	}
	var parsed Label
	if err := parsed.parse((*[LabelSize]byte)(data)); err != nil {
		return err
	}
	*l = parsed
	return nil
}

// put writes the encoding of a valid label into b without allocating.
func (l Label) put(b *[LabelSize]byte) error {
	if err := l.Validate(); err != nil {
		return err
	}
	b[0] = LabelVersion
	b[1] = l.Category
	binary.BigEndian.PutUint16(b[2:4], l.Reason)
	binary.BigEndian.PutUint32(b[4:8], uint32(l.Listed))
	copy(b[8:16], l.Reference[:])
	return nil
}

// parse decodes and validates b into l without allocating.
func (l *Label) parse(b *[LabelSize]byte) error {
	if b[0] != LabelVersion {
		return fmt.Errorf("%w: %d", ErrLabelVersion, b[0])
	}
	l.Category = b[1]
	l.Reason = binary.BigEndian.Uint16(b[2:4])
	l.Listed = Date(binary.BigEndian.Uint32(b[4:8]))
	copy(l.Reference[:], b[8:16])
	return l.Validate()
}

// Date is a civil (calendar) date counted in days since 1970-01-01. It has
// no time zone: the provider decides which calendar day an entry was listed.
type Date uint32

// MaxDate is 9999-12-31, the last date Validate accepts; it keeps every
// Date printable as YYYY-MM-DD.
const MaxDate Date = 2932896

const secondsPerDay = 24 * 60 * 60

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) (Date, error) {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
	if days < 0 || days > int64(MaxDate) {
		return 0, fmt.Errorf("%w: %04d-%02d-%02d", ErrDate, y, m, d)
	}
	return Date(days), nil
}

// ParseDate parses a YYYY-MM-DD civil date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrDate, err)
	}
	return DateOf(t)
}

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC()
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return d.Time().Format(time.DateOnly)
}
