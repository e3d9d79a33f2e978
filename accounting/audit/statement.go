package audit

import (
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// LabelStatement is the domain-separation label of an auditor's verdict
// statement. "v1" is bumped, never reused, if the digest's inputs change.
const LabelStatement = "riskmesh/v1/audit/statement"

// MaxReasonLen bounds a verdict's reason (the auditor's text).
const MaxReasonLen = 1024

// StatementDigest is what an auditor signs beside the ledger's endorsement
// digest so that the whole verdict, reason included, is attributable:
//
//	SHA-256( uint8 len || LabelStatement
//	      || EndorsementDigest(key, verdict)
//	      || [32] response digest of the disputed transcript
//	      || uint16 len || reason
//	      || int64 decided-at, Unix nanoseconds )
//
// integers big-endian. The endorsement digest alone (what Reverse checks)
// says only "upheld" or "rejected" for an entry; the statement says why and
// for which exchange.
func StatementDigest(key accounting.EntryKey, v accounting.Verdict, responseDigest [32]byte, reason string, decidedAt time.Time) ([32]byte, error) {
	if len(reason) > MaxReasonLen {
		return [32]byte{}, errors.New("audit: verdict reason longer than 1024 bytes")
	}
	e, err := accounting.EndorsementDigest(key, v)
	if err != nil {
		return [32]byte{}, err
	}
	var b cryptobyte.Builder
	b.AddBytes(e[:])
	b.AddBytes(responseDigest[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(reason)) })
	b.AddUint64(uint64(decidedAt.UnixNano()))
	msg, err := b.Bytes()
	if err != nil {
		return [32]byte{}, err
	}
	return labelhash.Sum(LabelStatement, msg), nil
}
