package transcript

import (
	"hash"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// Domain-separation labels. Each hash starts with one length byte and its
// label (internal/labelhash); the "v1" is bumped, never reused, if any
// digest input changes.
const (
	LabelRequest        = "riskmesh/v1/transcript/request"
	LabelRequestDigest  = "riskmesh/v1/transcript/request-digest"
	LabelResponse       = "riskmesh/v1/transcript/response"
	LabelResponseDigest = "riskmesh/v1/transcript/response-digest"
)

// DigestSize is the size of every hash and digest in this package; it is the
// size ecsig signs.
const DigestSize = ecsig.DigestSize

// HashRequest returns requestHash = SHA-256(label || E(request)), checking r
// against h first.
func HashRequest(h *Header, r *Request) ([DigestSize]byte, error) {
	if err := checkRequest(h, r); err != nil {
		return [DigestSize]byte{}, err
	}
	d := labelhash.New(LabelRequest)
	writeElements(d, r.Elements)
	return sum(d), nil
}

// HashResponse returns responseHash = SHA-256(label || E(response)),
// checking r against h first.
func HashResponse(h *Header, r *Response) ([DigestSize]byte, error) {
	if err := checkResponse(h, r); err != nil {
		return [DigestSize]byte{}, err
	}
	d := labelhash.New(LabelResponse)
	writeResponse(d, r)
	return sum(d), nil
}

// RequestDigest returns the digest the requester signs:
// SHA-256(label || E(header) || requestHash). The header encoding is
// self-delimiting, so the concatenation is unambiguous.
func RequestDigest(h *Header, requestHash [DigestSize]byte) ([DigestSize]byte, error) {
	enc, err := h.MarshalBinary()
	if err != nil {
		return [DigestSize]byte{}, err
	}
	return labelhash.Sum(LabelRequestDigest, enc, requestHash[:]), nil
}

// ResponseDigest returns the digest the responder signs:
// SHA-256(label || requestDigest || responseHash). Chaining the request
// digest binds the receipt to the exact header and request it answers.
func ResponseDigest(requestDigest, responseHash [DigestSize]byte) [DigestSize]byte {
	return labelhash.Sum(LabelResponseDigest, requestDigest[:], responseHash[:])
}

func sum(d hash.Hash) [DigestSize]byte {
	var out [DigestSize]byte
	d.Sum(out[:0])
	return out
}
