package outbox

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// hashSize is the size of the two body hashes an entry carries.
const hashSize = transcript.DigestSize

// Bounds of the stored records. A journal file is trusted no more than a
// peer: decoders check these before allocating.
const (
	maxDetail     = 1024
	maxCode       = 64
	maxEntrySize  = 2 + maxHeaderSize + 2*hashSize + 2 + 2*ecsig.MaxSignatureSize + 8
	maxDeadRecord = 4 + maxEntrySize + 1 + maxCode + 2 + maxDetail + 8
)

// maxHeaderSize bounds an entry's header: a catalog or live header, or a
// reconciliation's (docs/reconciliation.md, "Accounting").
const maxHeaderSize = max(transcript.MaxHeaderSize, transcript.MaxReconHeaderSize)

// recordVersion versions both stored encodings.
const recordVersion = 1

// storageKey is the bucket key of an entry: the ledger's own key string, so
// the journal holds at most one entry per ledger key and iterates by period.
func storageKey(k accounting.EntryKey) []byte { return []byte(k.String()) }

// encodeEntry returns the stored form of e:
//
//	uint8  version
//	uint16 length, header
//	[32]   request hash
//	[32]   response hash
//	uint8  length, requester signature
//	uint8  length, responder signature
//	uint64 amount (two's complement)
func encodeEntry(e *accounting.Entry) ([]byte, error) {
	if len(e.RequestHash) != hashSize || len(e.ResponseHash) != hashSize {
		return nil, fmt.Errorf("%w: body hashes must be %d bytes", ErrEntry, hashSize)
	}
	if len(e.Header) > maxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrEntry, len(e.Header))
	}
	for _, sig := range [][]byte{e.RequesterSignature, e.ResponderSignature} {
		if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
			return nil, fmt.Errorf("%w: signature of %d bytes", ErrEntry, len(sig))
		}
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, maxEntrySize))
	b.AddUint8(recordVersion)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Header) })
	b.AddBytes(e.RequestHash)
	b.AddBytes(e.ResponseHash)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.RequesterSignature) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.ResponderSignature) })
	b.AddUint64(uint64(e.Amount))
	return b.Bytes()
}

// decodeEntry parses encodeEntry's output, copying out of data (bbolt's
// value memory is valid only inside its transaction).
func decodeEntry(data []byte) (accounting.Entry, error) {
	if len(data) > maxEntrySize {
		return accounting.Entry{}, fmt.Errorf("%w: entry record of %d bytes", ErrCorrupt, len(data))
	}
	s := cryptobyte.String(data)
	e, ok := readEntry(&s)
	if !ok || !s.Empty() {
		return accounting.Entry{}, fmt.Errorf("%w: malformed entry record", ErrCorrupt)
	}
	return e, nil
}

func readEntry(s *cryptobyte.String) (accounting.Entry, bool) {
	var (
		e        accounting.Entry
		version  uint8
		header   cryptobyte.String
		reqSig   cryptobyte.String
		respSig  cryptobyte.String
		reqHash  []byte
		respHash []byte
		amount   uint64
	)
	if !s.ReadUint8(&version) || version != recordVersion ||
		!s.ReadUint16LengthPrefixed(&header) || len(header) > maxHeaderSize ||
		!s.ReadBytes(&reqHash, hashSize) || !s.ReadBytes(&respHash, hashSize) ||
		!s.ReadUint8LengthPrefixed(&reqSig) || len(reqSig) == 0 || len(reqSig) > ecsig.MaxSignatureSize ||
		!s.ReadUint8LengthPrefixed(&respSig) || len(respSig) == 0 || len(respSig) > ecsig.MaxSignatureSize ||
		!s.ReadUint64(&amount) {
		return e, false
	}
	e.Header = clone(header)
	e.RequestHash = clone(reqHash)
	e.ResponseHash = clone(respHash)
	e.RequesterSignature = clone(reqSig)
	e.ResponderSignature = clone(respSig)
	e.Amount = int64(amount)
	return e, true
}

// DeadEntry is an entry the ledger rejected permanently, with its reason.
type DeadEntry struct {
	Key    accounting.EntryKey
	Entry  accounting.Entry
	Code   string // the ledger's error code (chaincode.Code), e.g. "period_closed"
	Detail string // the ledger's detail message
	At     int64  // when it was moved, Unix seconds
}

// encodeDead returns the stored form of a dead entry:
//
//	uint32 length, entry (encodeEntry)
//	uint8  length, code
//	uint16 length, detail (truncated to maxDetail)
//	uint64 at (Unix seconds)
func encodeDead(entry []byte, code, detail string, at int64) ([]byte, error) {
	if len(code) > maxCode {
		code = code[:maxCode]
	}
	if len(detail) > maxDetail {
		detail = detail[:maxDetail]
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, maxDeadRecord))
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(entry) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(code)) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(detail)) })
	b.AddUint64(uint64(at))
	return b.Bytes()
}

// decodeDead parses encodeDead's output.
func decodeDead(data []byte) (DeadEntry, error) {
	if len(data) > maxDeadRecord {
		return DeadEntry{}, fmt.Errorf("%w: dead record of %d bytes", ErrCorrupt, len(data))
	}
	var (
		s            = cryptobyte.String(data)
		n            uint32
		entry        []byte
		code, detail cryptobyte.String
		at           uint64
	)
	if !s.ReadUint32(&n) || n > maxEntrySize || !s.ReadBytes(&entry, int(n)) || !s.ReadUint8LengthPrefixed(&code) || len(code) > maxCode ||
		!s.ReadUint16LengthPrefixed(&detail) || len(detail) > maxDetail || !s.ReadUint64(&at) || !s.Empty() {
		return DeadEntry{}, fmt.Errorf("%w: malformed dead record", ErrCorrupt)
	}
	e, err := decodeEntry(entry)
	if err != nil {
		return DeadEntry{}, err
	}
	key, err := keyOf(&e)
	if err != nil {
		return DeadEntry{}, err
	}
	return DeadEntry{Key: key, Entry: e, Code: string(code), Detail: string(detail), At: int64(at)}, nil
}

// keyOf derives an entry's ledger key from its transcript header, as the
// chaincode does.
func keyOf(e *accounting.Entry) (accounting.EntryKey, error) {
	k, err := accounting.EntryKeyOf(e.Header)
	if err != nil {
		return k, fmt.Errorf("%w: %w", ErrEntry, err)
	}
	return k, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
