package transcript

import (
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// SignRequest signs a request digest (the requester's purchase order) with
// the injected signer and checks the result fits the format's bound.
func SignRequest(sign ecsig.Sign, requestDigest [DigestSize]byte) ([]byte, error) {
	return signDigest(sign, requestDigest)
}

// SignResponse signs a response digest (the responder's receipt).
func SignResponse(sign ecsig.Sign, responseDigest [DigestSize]byte) ([]byte, error) {
	return signDigest(sign, responseDigest)
}

func signDigest(sign ecsig.Sign, digest [DigestSize]byte) ([]byte, error) {
	sig, err := sign(digest[:])
	if err != nil {
		return nil, fmt.Errorf("transcript: sign: %w", err)
	}
	if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
		return nil, fmt.Errorf("%w: signer returned %d bytes", ErrSignatureSize, len(sig))
	}
	return sig, nil
}

// VerifyRequest checks the requester's signature over requestDigest against
// the requester's PKIX DER public keys valid in the header's period (two
// while a rotation overlaps; see ecsig.VerifyAny). The error wraps both
// ErrRequestSignature and the ecsig cause.
func VerifyRequest(publicKeysDER [][]byte, requestDigest [DigestSize]byte, sig []byte) error {
	if err := ecsig.VerifyAny(publicKeysDER, requestDigest[:], sig); err != nil {
		return fmt.Errorf("%w: %w", ErrRequestSignature, err)
	}
	return nil
}

// VerifyResponse checks the responder's signature over responseDigest against
// the responder's PKIX DER public keys valid in the header's period.
func VerifyResponse(publicKeysDER [][]byte, responseDigest [DigestSize]byte, sig []byte) error {
	if err := ecsig.VerifyAny(publicKeysDER, responseDigest[:], sig); err != nil {
		return fmt.Errorf("%w: %w", ErrResponseSignature, err)
	}
	return nil
}
