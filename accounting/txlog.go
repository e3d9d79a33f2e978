package accounting

import (
	"fmt"
	"sort"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// The embedded ledger's transaction log. Every committed transaction appends
// one LogRecord, in the same bbolt transaction as its state writes, and the
// chain of record hashes lets an auditor check that no record was changed,
// removed or reordered since the head hash they hold.
//
// Encoding of a record (version 1), integers big-endian:
//
//	uint8  version (LogVersion)
//	uint64 sequence (1, 2, ...)
//	uint8  length, transaction id
//	uint8  length, caller MSP id
//	uint8  length, function name
//	[32]   argument digest = H(LabelLogArgs   || argument JSON)
//	[32]   writes digest   = H(LabelLogWrites || for each written key in
//	                           byte order: uint32 len || key || uint32 len || value)
//	[32]   previous record hash (zero for the first)
//
// and a record's hash is H(LabelLogRecord || encoding), where H is SHA-256
// and each label is preceded by its one-byte length (internal/labelhash).
const (
	LogVersion     = 1
	LabelLogRecord = "riskmesh/v1/embedded/log-record"
	LabelLogArgs   = "riskmesh/v1/embedded/log-args"
	LabelLogWrites = "riskmesh/v1/embedded/log-writes"
	labelTxID      = "riskmesh/v1/embedded/txid"
)

// maxLogRecordSize bounds an encoded record (three short strings and three
// digests).
const maxLogRecordSize = 1 + 8 + 3*(1+255) + 3*32

// LogRecord is one entry of the embedded ledger's transaction log.
type LogRecord struct {
	Sequence     uint64
	TxID         string
	Caller       string
	Function     string
	ArgsDigest   [32]byte
	WritesDigest [32]byte
	PrevHash     [32]byte
}

// MarshalBinary returns the record's canonical encoding.
func (r *LogRecord) MarshalBinary() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(LogVersion)
	b.AddUint64(r.Sequence)
	for _, s := range []string{r.TxID, r.Caller, r.Function} {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	}
	b.AddBytes(r.ArgsDigest[:])
	b.AddBytes(r.WritesDigest[:])
	b.AddBytes(r.PrevHash[:])
	return b.Bytes()
}

// ParseLogRecord parses a record encoded by MarshalBinary, rejecting unknown
// versions and trailing bytes.
func ParseLogRecord(data []byte) (*LogRecord, error) {
	if len(data) > maxLogRecordSize {
		return nil, fmt.Errorf("%w: record of %d bytes", ErrLogTampered, len(data))
	}
	s := cryptobyte.String(data)
	var version uint8
	var r LogRecord
	var txid, caller, fn cryptobyte.String
	if !s.ReadUint8(&version) || version != LogVersion ||
		!s.ReadUint64(&r.Sequence) ||
		!s.ReadUint8LengthPrefixed(&txid) || !s.ReadUint8LengthPrefixed(&caller) || !s.ReadUint8LengthPrefixed(&fn) ||
		!s.CopyBytes(r.ArgsDigest[:]) || !s.CopyBytes(r.WritesDigest[:]) || !s.CopyBytes(r.PrevHash[:]) ||
		!s.Empty() {
		return nil, fmt.Errorf("%w: malformed record", ErrLogTampered)
	}
	r.TxID, r.Caller, r.Function = string(txid), string(caller), string(fn)
	return &r, nil
}

// Hash returns the record's chain hash.
func (r *LogRecord) Hash() ([32]byte, error) {
	enc, err := r.MarshalBinary()
	if err != nil {
		return [32]byte{}, err
	}
	return labelhash.Sum(LabelLogRecord, enc), nil
}

// writesDigest hashes a transaction's final writes in key order.
func writesDigest(writes map[string][]byte) [32]byte {
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := labelhash.New(LabelLogWrites)
	var n [4]byte
	for _, k := range keys {
		v := writes[k]
		putUint32(n[:], len(k))
		h.Write(n[:])
		h.Write([]byte(k))
		putUint32(n[:], len(v))
		h.Write(n[:])
		h.Write(v)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func putUint32(b []byte, v int) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
