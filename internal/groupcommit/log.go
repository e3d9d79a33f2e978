package groupcommit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/internal/durable"
)

// The log file holds the records of the writes a Committer has made
// durable but may not have folded into its database yet. Each record is
//
//	length  uint32, big-endian: bytes of the payload, 1 … MaxRecord
//	check   uint32, big-endian: CRC-32C of the length, sequence and payload
//	seq     uint64, big-endian: the record's sequence number
//	payload
//
// Records are written from the start of the file after every fold, so
// the file holds one batch's records followed by older ones. Sequence
// numbers only grow (the last folded one is kept in the database), so a
// reader stops at the first record that is torn, damaged, or does not
// follow its predecessor's number: the older records behind the current
// batch all carry smaller numbers.
const headerSize = 16

// MaxRecord bounds one record's payload: a reader refuses a length above
// it before allocating.
const MaxRecord = 64 << 20

// preallocate is the size a new log file is given: written records then
// change no file size, and each fdatasync flushes data only.
const preallocate = 4 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is one record read back.
type record struct {
	seq     uint64
	payload []byte
}

// logFile appends records and makes them durable. Only the Committer's
// leader, or the writer joining its held transaction, touches it.
type logFile struct {
	f   *os.File
	off int64 // where the next record goes
	buf []byte
}

// openLog opens (creating and preallocating if need be) the log file at
// path and returns it with the records it holds, in order.
func openLog(path string) (*logFile, []record, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if info.Size() == 0 {
		if err := allocate(f, preallocate); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("groupcommit: preallocate %s: %w", filepath.Base(path), err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, err
		}
		if err := durable.SyncDir(filepath.Dir(path)); err != nil && !errors.Is(err, os.ErrInvalid) {
			f.Close()
			return nil, nil, err
		}
	}
	recs, err := readRecords(io.NewSectionReader(f, 0, info.Size()), info.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("groupcommit: read %s: %w", filepath.Base(path), err)
	}
	return &logFile{f: f}, recs, nil
}

// readRecords returns the chain of records at the start of r, whose size
// is size: it stops, without error, at the end, at a record that is torn
// or damaged, and at one whose number does not follow its predecessor's.
// It allocates no more than size bytes for payloads.
func readRecords(r io.ReaderAt, size int64) ([]record, error) {
	var (
		recs []record
		off  int64
		hdr  [headerSize]byte
	)
	for off+headerSize <= size {
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return nil, err
		}
		n := int64(binary.BigEndian.Uint32(hdr[0:4]))
		seq := binary.BigEndian.Uint64(hdr[8:16])
		if n == 0 || n > MaxRecord || off+headerSize+n > size {
			break
		}
		if len(recs) > 0 && seq != recs[len(recs)-1].seq+1 {
			break
		}
		payload := make([]byte, n)
		if _, err := r.ReadAt(payload, off+headerSize); err != nil {
			return nil, err
		}
		if checksum(hdr[0:4], hdr[8:16], payload) != binary.BigEndian.Uint32(hdr[4:8]) {
			break
		}
		recs = append(recs, record{seq: seq, payload: payload})
		off += headerSize + n
	}
	return recs, nil
}

func checksum(length, seq, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, length)
	c = crc32.Update(c, castagnoli, seq)
	return crc32.Update(c, castagnoli, payload)
}

// appendRecords writes payloads as records numbered from first on, after
// the records written since the last rewind, and makes them durable.
func (l *logFile) appendRecords(first uint64, payloads [][]byte) error {
	l.buf = l.buf[:0]
	for i, p := range payloads {
		if len(p) == 0 || len(p) > MaxRecord {
			return fmt.Errorf("groupcommit: a record of %d bytes (1 to %d)", len(p), MaxRecord)
		}
		var hdr [headerSize]byte
		binary.BigEndian.PutUint32(hdr[0:4], uint32(len(p)))
		binary.BigEndian.PutUint64(hdr[8:16], first+uint64(i))
		binary.BigEndian.PutUint32(hdr[4:8], checksum(hdr[0:4], hdr[8:16], p))
		l.buf = append(append(l.buf, hdr[:]...), p...)
	}
	if _, err := l.f.WriteAt(l.buf, l.off); err != nil {
		return err
	}
	if err := datasync(l.f); err != nil {
		return err
	}
	l.off += int64(len(l.buf))
	if cap(l.buf) > preallocate {
		l.buf = nil // a large batch's buffer is not kept
	}
	return nil
}

// rewind makes the next record go to the start of the file: every record
// written so far has been folded.
func (l *logFile) rewind() { l.off = 0 }

func (l *logFile) close() error { return l.f.Close() }
