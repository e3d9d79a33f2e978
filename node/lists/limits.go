package lists

import (
	"cmp"
	"fmt"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// Default bounds; see Limits.
const (
	DefaultMaxRecordBytes = 64 << 10
	DefaultMaxFieldBytes  = ident.MaxRawLen
	// maxRecordBytesCap keeps a misconfigured limit from turning into an
	// unbounded buffer.
	maxRecordBytesCap = 16 << 20
)

// Limits bounds what one record may make the reader hold in memory. The zero
// value uses the defaults.
type Limits struct {
	// MaxRecordBytes bounds one record: a CSV/TSV record including quoted
	// line breaks, or one NDJSON line. Longer input ends the stream with a
	// *FormatError wrapping ErrRecordTooLong. Default DefaultMaxRecordBytes
	// (64 KiB), at most 16 MiB.
	MaxRecordBytes int
	// MaxFieldBytes bounds each mapped field after decoding; a longer one
	// rejects the row with ErrFieldTooLong. Default DefaultMaxFieldBytes
	// (1024, ident.MaxRawLen).
	MaxFieldBytes int
}

func (l Limits) withDefaults() (Limits, error) {
	l.MaxRecordBytes = cmp.Or(l.MaxRecordBytes, DefaultMaxRecordBytes)
	l.MaxFieldBytes = cmp.Or(l.MaxFieldBytes, DefaultMaxFieldBytes)
	if l.MaxRecordBytes < 0 || l.MaxRecordBytes > maxRecordBytesCap || l.MaxFieldBytes < 0 {
		return l, fmt.Errorf("%w: limits out of range", ErrConfig)
	}
	return l, nil
}
