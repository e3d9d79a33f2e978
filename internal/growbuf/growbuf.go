// Package growbuf reads a length that a peer or a file announced without
// trusting it: the buffer starts small and doubles only as bytes arrive,
// never past the announced length, so an announcement of a gigabyte
// followed by nothing costs the first chunk, not the gigabyte.
//
// The peer protocol's frame bodies (node/peer) and a catalog's slot array
// (psi/catalog) are read this way; their formats bound the announced
// length before it reaches ReadFull.
package growbuf

import (
	"errors"
	"io"
)

// ReadFull reads exactly n bytes from r into a buffer of at most first
// bytes at the start, doubled (never past n) each time it fills. It
// returns the bytes read and, when r ends first, io.ErrUnexpectedEOF with
// the bytes it did read; any other error of r is returned as is, with
// them too.
func ReadFull(r io.Reader, n, first int) ([]byte, error) {
	buf := make([]byte, 0, max(min(n, first), 0))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), 1)))
			copy(grown, buf)
			buf = grown
		}
		k, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if errors.Is(err, io.EOF) {
			return buf, io.ErrUnexpectedEOF
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
