package oprf

import (
	"errors"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/parallel"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// Wire encodings. A batch of elements travels as one flat byte string of
// n·32 bytes, 1 ≤ n ≤ MaxBatch, each element the RFC 9496 canonical encoding
// of a non-identity ristretto255 element. A proof travels as 64 bytes: the
// canonical little-endian scalars c and s (RFC 9497 section 2.2). The flat
// arrays carry no count of their own: transcripts and messages frame them.

// BatchLen returns the number of elements in a flat array after checking its
// length and the MaxBatch bound. It does not decode the elements.
func BatchLen(elements []byte) (int, error) {
	if len(elements) == 0 {
		return 0, ErrEmptyBatch
	}
	if len(elements)%ElementSize != 0 {
		return 0, ErrElementsLength
	}
	n := len(elements) / ElementSize
	if n > MaxBatch {
		return 0, ErrBatchTooLarge
	}
	return n, nil
}

// ValidateElements checks a flat array as BatchLen does and decodes every
// element, rejecting non-canonical encodings and the identity with an
// *ElementError naming the first bad index. Nodes run it on untrusted input
// (or let BlindEvaluate and Finalize do the same checks on the way).
func ValidateElements(elements []byte) (int, error) {
	n, err := BatchLen(elements)
	if err != nil {
		return 0, err
	}
	var e ristretto255.Element
	for i := range n {
		if err := decodeElement(&e, elements[i*ElementSize:(i+1)*ElementSize]); err != nil {
			return 0, &ElementError{Index: i, Err: err}
		}
	}
	return n, nil
}

// decodeBatch decodes the flat array into dst, one element per entry, with
// decode (decodeElement, or the evaluator's decodePoint) on all cores, and
// rejects a bad element with an *ElementError (the first one a worker
// meets, not necessarily the lowest index).
func decodeBatch[E any](dst []E, flat []byte, decode func(*E, []byte) error) error {
	return parallel.For(len(dst), chunkSize, workersFor(len(dst)), func(_, lo, hi int) error {
		for i := lo; i < hi; i++ {
			if err := decode(&dst[i], element(flat, i)); err != nil {
				return &ElementError{Index: i, Err: err}
			}
		}
		return nil
	})
}

// ValidateProof checks that proof is 64 bytes of two canonical scalars.
func ValidateProof(proof []byte) error {
	_, _, err := parseProof(proof)
	return err
}

// decodeElement is RFC 9497 DeserializeElement: canonical and not the
// identity.
func decodeElement(dst *ristretto255.Element, b []byte) error {
	if len(b) != ElementSize {
		return ErrInvalidElement
	}
	if isZero32(b) {
		return ErrIdentityElement
	}
	if _, err := dst.SetCanonicalBytes(b); err != nil {
		return ErrInvalidElement
	}
	return nil
}

// decodePoint is decodeElement into an edwards25519 point, for the
// evaluator's batch path (psi/internal/ristretto), with this package's
// errors.
func decodePoint(dst *edwards25519.Point, b []byte) error {
	switch err := ristretto.Decode(dst, b); {
	case err == nil:
		return nil
	case errors.Is(err, ristretto.ErrIdentity):
		return ErrIdentityElement
	default:
		return ErrInvalidElement
	}
}

// element returns the i-th 32-byte element of a flat array.
func element(flat []byte, i int) []byte {
	return flat[i*ElementSize : (i+1)*ElementSize : (i+1)*ElementSize]
}

func parseProof(proof []byte) (c, s ristretto255.Scalar, err error) {
	if len(proof) != ProofSize {
		return c, s, ErrProofLength
	}
	if _, err := c.SetCanonicalBytes(proof[:ScalarSize]); err != nil {
		return c, s, ErrProofEncoding
	}
	if _, err := s.SetCanonicalBytes(proof[ScalarSize:]); err != nil {
		return c, s, ErrProofEncoding
	}
	return c, s, nil
}
