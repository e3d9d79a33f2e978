package transcript

import (
	"bytes"
	"fmt"

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
	if err := h.Validate(); err != nil {
		return nil, err
	}
	ne := h.suite().ElementSize
	if err := checkElements(r.Elements, int(h.Count), ne); err != nil {
		return nil, err
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, requestLen(int(h.Count), ne)))
	addElements(b, r.Elements)
	return b.Bytes()
}

func requestLen(count, elementSize int) int { return 4 + count*elementSize }

// ParseRequest parses a request encoded by MarshalRequest for the header h
// (typically from ParseHeader), checking the count and size against the
// header before allocating.
func ParseRequest(h *Header, data []byte) (*Request, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	ne := h.suite().ElementSize
	if len(data) != requestLen(int(h.Count), ne) {
		return nil, fmt.Errorf("%w: request of %d bytes, want %d", ErrCountMismatch, len(data), requestLen(int(h.Count), ne))
	}
	s := cryptobyte.String(data)
	elements, err := readElements(&s, ne, int(h.Count))
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	return &Request{Elements: elements}, nil
}

// checkElements checks that elements has want entries of size bytes each;
// want < 0 means any count up to MaxItems.
func checkElements(elements [][]byte, want, size int) error {
	if want >= 0 && len(elements) != want {
		return fmt.Errorf("%w: %d elements, header says %d", ErrCountMismatch, len(elements), want)
	}
	if len(elements) > MaxItems {
		return fmt.Errorf("%w: %d elements", ErrCount, len(elements))
	}
	for i, e := range elements {
		if len(e) != size {
			return fmt.Errorf("%w: element %d has %d bytes, want %d", ErrElementSize, i, len(e), size)
		}
	}
	return nil
}

func addElements(b *cryptobyte.Builder, elements [][]byte) {
	b.AddUint32(uint32(len(elements)))
	for _, e := range elements {
		b.AddBytes(e)
	}
}

// readElements reads a uint32 count and that many elements of size bytes;
// want >= 0 is the count the header requires. The count is checked against
// want, MaxItems and the bytes actually present before anything is
// allocated; the elements share one backing array copied out of s, so they
// do not alias the caller's buffer.
func readElements(s *cryptobyte.String, size, want int) ([][]byte, error) {
	var n uint32
	if !s.ReadUint32(&n) {
		return nil, ErrMalformed
	}
	if want >= 0 && int64(n) != int64(want) {
		return nil, fmt.Errorf("%w: %d elements, header says %d", ErrCountMismatch, n, want)
	}
	if n > MaxItems {
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
