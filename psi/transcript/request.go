package transcript

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// Request is what the requester sends: one blinded (catalog OPRF) or masked
// (ECDH-PSI) element per item, each exactly the suite's element size.
type Request struct {
	Elements [][]byte
}

// MarshalRequest returns the canonical encoding of r, which must match the
// valid header h (count and element size):
//
//	uint32 count (== h.Count)
//	count x element (suite element size each)
func MarshalRequest(h *Header, r *Request) ([]byte, error) {
	if err := checkRequest(h, r); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, requestLen(h)))
	writeElements(buf, r.Elements)
	return buf.Bytes(), nil
}

// checkRequest validates h and checks r's shape against it.
func checkRequest(h *Header, r *Request) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return checkElements(r.Elements, int(h.Count), h.Protocol.MaxItems(), h.suite().ElementSize)
}

// requestLen is the exact encoded size of a request for a valid header.
func requestLen(h *Header) int { return 4 + int(h.Count)*h.suite().ElementSize }

// ParseRequest parses a request encoded by MarshalRequest for the header h
// (typically from ParseHeader), checking the count and size against the
// header before allocating.
func ParseRequest(h *Header, data []byte) (*Request, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	if len(data) != requestLen(h) {
		return nil, fmt.Errorf("%w: request of %d bytes, want %d", ErrCountMismatch, len(data), requestLen(h))
	}
	s := cryptobyte.String(data)
	elements, err := readElements(&s, h.suite().ElementSize, int(h.Count), h.Protocol.MaxItems())
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	return &Request{Elements: elements}, nil
}

// checkElements checks that elements has want entries (want < 0: any
// number up to max) of size bytes each.
func checkElements(elements [][]byte, want, max, size int) error {
	if want >= 0 && len(elements) != want {
		return fmt.Errorf("%w: %d elements, header says %d", ErrCountMismatch, len(elements), want)
	}
	if len(elements) > max {
		return fmt.Errorf("%w: %d elements", ErrCount, len(elements))
	}
	for i, e := range elements {
		if len(e) != size {
			return fmt.Errorf("%w: element %d has %d bytes, want %d", ErrElementSize, i, len(e), size)
		}
	}
	return nil
}

// writeElements writes a uint32 count and the elements. It is the one
// encoder of element vectors: Marshal* write it to a buffer, Hash* to a
// hash and WriteTo to a file, so the three cannot disagree. Elements must
// have been checked.
func writeElements(w io.Writer, elements [][]byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(elements)))
	w.Write(n[:])
	for _, e := range elements {
		w.Write(e)
	}
}

// readElements reads a uint32 count and that many elements of size bytes;
// want >= 0 is the count the header requires, max the protocol's bound.
// The count is checked against want, max and the bytes actually present
// before anything is allocated; the elements share one backing array copied
// out of s, so they do not alias the caller's buffer.
func readElements(s *cryptobyte.String, size, want, max int) ([][]byte, error) {
	var n uint32
	if !s.ReadUint32(&n) {
		return nil, ErrMalformed
	}
	if want >= 0 && int64(n) != int64(want) {
		return nil, fmt.Errorf("%w: %d elements, header says %d", ErrCountMismatch, n, want)
	}
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d elements", ErrCount, n)
	}
	var flat []byte
	if !s.ReadBytes(&flat, int(n)*size) {
		return nil, ErrMalformed
	}
	if n == 0 {
		return nil, nil
	}
	flat = bytes.Clone(flat)
	elements := make([][]byte, n)
	for i := range elements {
		elements[i] = flat[i*size : (i+1)*size : (i+1)*size]
	}
	return elements, nil
}
