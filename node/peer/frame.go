package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/growbuf"
)

// frameHeaderLen is the size of a frame's length prefix: a 4-byte big-endian
// unsigned length (docs/protocol/wire.md, "Frames").
const frameHeaderLen = 4

// readChunk is the first buffer size a frame body is read into. A larger
// frame's buffer grows (doubling, never past the announced length) only as
// bytes actually arrive, so a peer that announces a large frame and sends
// nothing costs at most readChunk bytes, not the announced length.
const readChunk = 64 << 10

// FrameSizeError reports a frame whose announced (or, when writing, encoded)
// length is above the bound the reader or writer was given. It unwraps to
// ErrFrameTooLarge.
type FrameSizeError struct {
	Size uint64 // the announced or encoded length
	Max  int    // the bound in force
}

func (e *FrameSizeError) Error() string {
	return fmt.Sprintf("peer: frame of %d bytes exceeds the limit of %d", e.Size, e.Max)
}

func (e *FrameSizeError) Unwrap() error { return ErrFrameTooLarge }

// WriteFrame writes m as one frame: its length, then its protobuf encoding.
// It refuses an empty encoding (a frame of length 0 is invalid) and one
// longer than maxSize, so a writer never sends what a conforming reader would
// reject. The size is known before anything is encoded, so a frame too large
// is refused without being encoded, and header and body are encoded into
// one buffer.
func WriteFrame(w io.Writer, m proto.Message, maxSize int) error {
	size := proto.Size(m)
	if size == 0 {
		return ErrEmptyFrame
	}
	if size > maxSize || uint64(size) > 1<<32-1 {
		return &FrameSizeError{Size: uint64(size), Max: maxSize}
	}
	// One write for header and body: on a QUIC stream this is one
	// contiguous range rather than a tiny packet followed by the rest.
	buf := make([]byte, frameHeaderLen, frameHeaderLen+size)
	binary.BigEndian.PutUint32(buf, uint32(size))
	// UseCachedSize reuses the size proto.Size just computed; a message
	// changed meanwhile by another goroutine (a caller's race) is caught
	// by the length check rather than sent with a wrong prefix.
	buf, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, m)
	if err != nil {
		return fmt.Errorf("peer: encode frame: %w", err)
	}
	if len(buf) != frameHeaderLen+size {
		return fmt.Errorf("peer: encode frame: %d bytes encoded, %d announced", len(buf)-frameHeaderLen, size)
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("peer: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame from r into m. The announced length is checked
// against maxSize before anything is allocated for the body, and the body is
// read incrementally (see readChunk). It returns io.EOF only when r ends
// cleanly before the first byte of a frame; a frame cut short is
// io.ErrUnexpectedEOF. m is reset before decoding.
func ReadFrame(r io.Reader, m proto.Message, maxSize int) error {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("peer: read frame length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return ErrEmptyFrame
	}
	if uint64(n) > uint64(max(maxSize, 0)) {
		return &FrameSizeError{Size: uint64(n), Max: maxSize}
	}
	body, err := growbuf.ReadFull(r, int(n), readChunk)
	if err != nil {
		return fmt.Errorf("peer: read frame body: %w", err)
	}
	if err := proto.Unmarshal(body, m); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	return nil
}
