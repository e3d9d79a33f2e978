package seal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// ChunkSize is the plaintext length of every chunk of a stream but the
// last.
const ChunkSize = 64 << 10

const (
	noncePrefixSize = chacha20poly1305.NonceSizeX - 8
	streamHeader    = 1 + keyIDSize + noncePrefixSize
	maxChunks       = 1 << 56 // the 7-byte counter
)

// Writer seals a stream (see the package comment). Close writes the final
// chunk; a stream without it does not open.
type Writer struct {
	k      *Keyring
	w      io.Writer
	ad     []byte
	nonce  [chacha20poly1305.NonceSizeX]byte
	n      uint64
	buf    []byte
	out    []byte
	err    error
	closed bool
}

// NewWriter returns a Writer sealing to w for location; it writes the
// header at once.
func (k *Keyring) NewWriter(w io.Writer, location string) (*Writer, error) {
	if len(location) > MaxLocation {
		return nil, fmt.Errorf("seal: location longer than %d bytes", MaxLocation)
	}
	sw := &Writer{k: k, w: w, ad: k.ad(location), buf: make([]byte, 0, ChunkSize)}
	head := make([]byte, streamHeader)
	head[0] = streamVersion
	copy(head[1:], k.id[:])
	if _, err := io.ReadFull(k.rand, head[1+keyIDSize:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	copy(sw.nonce[:], head[1+keyIDSize:])
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	return sw, nil
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("seal: write after Close")
	}
	written := 0
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == ChunkSize {
			// A full chunk is sealed only once more data follows, so
			// the last chunk is never a full one sealed as non-final.
			w.flush(false)
			continue
		}
		n := copy(w.buf[len(w.buf):ChunkSize], p)
		w.buf = w.buf[:len(w.buf)+n]
		p, written = p[n:], written+n
	}
	return written, w.err
}

// Close seals the final chunk (possibly empty). It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if !w.closed && w.err == nil {
		w.flush(true)
	}
	w.closed = true
	return w.err
}

func (w *Writer) flush(final bool) {
	if w.n >= maxChunks {
		w.err = errors.New("seal: stream too long")
		return
	}
	setChunkNonce(&w.nonce, w.n, final)
	w.out = w.k.aead.Seal(w.out[:0], w.nonce[:], w.buf, w.ad)
	_, w.err = w.w.Write(w.out)
	w.buf = w.buf[:0]
	w.n++
}

func setChunkNonce(nonce *[chacha20poly1305.NonceSizeX]byte, n uint64, final bool) {
	binary.BigEndian.PutUint64(nonce[noncePrefixSize:], n<<8)
	if final {
		nonce[len(nonce)-1] = 1
	}
}

// Reader opens a stream. It returns ErrOpen for a chunk that does not
// authenticate, and for a stream that ends before its final chunk.
type Reader struct {
	k     *Keyring
	r     io.Reader
	ad    []byte
	nonce [chacha20poly1305.NonceSizeX]byte
	n     uint64
	in    []byte // sealed bytes; the first have of them already read
	have  int
	out   []byte // the opened chunk
	plain []byte // what of out Read has not returned
	done  bool
	err   error
}

// NewReader returns a Reader opening the stream r holds for location.
func (k *Keyring) NewReader(r io.Reader, location string) (*Reader, error) {
	head := make([]byte, streamHeader)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("%w: stream header: %v", ErrMalformed, err)
	}
	if head[0] != streamVersion {
		return nil, fmt.Errorf("%w: not a sealed stream", ErrMalformed)
	}
	if !bytes.Equal(head[1:1+keyIDSize], k.id[:]) {
		return nil, ErrOtherKey
	}
	sr := &Reader{k: k, r: r, ad: k.ad(location), in: make([]byte, ChunkSize+chacha20poly1305.Overhead+1)}
	copy(sr.nonce[:], head[1+keyIDSize:])
	return sr, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next opens the following chunk. A chunk is final when at most a full
// sealed chunk's bytes follow; one byte past a full chunk is read ahead to
// tell, and kept as the start of the next chunk.
func (r *Reader) next() {
	full := ChunkSize + chacha20poly1305.Overhead
	n, err := io.ReadFull(r.r, r.in[r.have:full+1])
	n += r.have
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		r.err = err
		return
	}
	final := n <= full
	size := min(n, full)
	setChunkNonce(&r.nonce, r.n, final)
	plain, err := r.k.aead.Open(r.out[:0], r.nonce[:], r.in[:size], r.ad)
	if err != nil {
		// A truncated stream lands here too: its last chunk was sealed
		// as non-final, or is cut short.
		r.err = ErrOpen
		return
	}
	r.out, r.plain = plain, plain
	r.n++
	if final {
		r.done = true
		return
	}
	r.in[0], r.have = r.in[full], 1
}
