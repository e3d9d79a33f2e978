package transcript

import (
	"bytes"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// Response is what the responder returns.
type Response struct {
	// Evaluated holds one element per request element, in request order.
	Evaluated [][]byte
	// Proof is the batched DLEQ proof for the catalog OPRF (two scalars,
	// 64 bytes for ristretto255-SHA512) and empty for ECDH-PSI.
	Proof []byte
	// Own holds the responder's own masked elements for ECDH-PSI (0 to
	// MaxECDHItems of them, independent of the header's count); empty for
	// the catalog OPRF.
	Own [][]byte
}

// MarshalResponse returns the canonical encoding of r, which must match the
// valid header h (count, element size, proof size, protocol):
//
//	uint32 count (== h.Count), count x evaluated element
//	uint8  length, proof
//	uint32 own count, own count x element
func MarshalResponse(h *Header, r *Response) ([]byte, error) {
	if err := checkResponse(h, r); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, responseLen(h, r)))
	writeResponse(buf, r)
	return buf.Bytes(), nil
}

// checkResponse validates h and checks r's shape against it.
func checkResponse(h *Header, r *Response) error {
	if err := h.Validate(); err != nil {
		return err
	}
	s, max := h.suite(), h.Protocol.MaxItems()
	if err := checkElements(r.Evaluated, int(h.Count), max, s.ElementSize); err != nil {
		return err
	}
	if len(r.Proof) != s.ProofSize(h.Protocol) {
		return fmt.Errorf("%w: %d bytes, want %d", ErrProofSize, len(r.Proof), s.ProofSize(h.Protocol))
	}
	if !h.Protocol.IsECDH() && len(r.Own) != 0 {
		return ErrUnexpectedOwn
	}
	return checkElements(r.Own, -1, max, s.ElementSize)
}

// writeResponse writes the encoding of a checked response.
func writeResponse(w io.Writer, r *Response) {
	writeElements(w, r.Evaluated)
	w.Write([]byte{byte(len(r.Proof))})
	w.Write(r.Proof)
	writeElements(w, r.Own)
}

// responseLen is the exact encoded size of a checked response.
func responseLen(h *Header, r *Response) int {
	ne := h.suite().ElementSize
	return 4 + len(r.Evaluated)*ne + 1 + len(r.Proof) + 4 + len(r.Own)*ne
}

// maxResponseLen bounds an encoded response for a valid header.
func maxResponseLen(h *Header) int {
	s := h.suite()
	n := 4 + int(h.Count)*s.ElementSize + 1 + s.ProofSize(h.Protocol) + 4
	if h.Protocol.IsECDH() {
		n += MaxECDHItems * s.ElementSize
	}
	return n
}

// ParseResponse parses a response encoded by MarshalResponse for the header h.
func ParseResponse(h *Header, data []byte) (*Response, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	if len(data) > maxResponseLen(h) {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrMalformed, len(data))
	}
	ne, max := h.suite().ElementSize, h.Protocol.MaxItems()
	s := cryptobyte.String(data)
	r := new(Response)
	var err error
	if r.Evaluated, err = readElements(&s, ne, int(h.Count), max); err != nil {
		return nil, err
	}
	var proof cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&proof) {
		return nil, ErrMalformed
	}
	if len(proof) > 0 {
		r.Proof = bytes.Clone(proof)
	}
	if peek := s; !h.Protocol.IsECDH() {
		var n uint32
		if peek.ReadUint32(&n) && n != 0 {
			return nil, ErrUnexpectedOwn
		}
	}
	if r.Own, err = readElements(&s, ne, -1, max); err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	if err := checkResponse(h, r); err != nil {
		return nil, err
	}
	return r, nil
}
