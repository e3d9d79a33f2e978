package oprf

import (
	"errors"
	"fmt"
)

var (
	ErrEmptyBatch        = errors.New("oprf: empty batch")
	ErrBatchTooLarge     = errors.New("oprf: batch larger than MaxBatch (65535); split it")
	ErrBatchMismatch     = errors.New("oprf: evaluated batch size differs from the blinded batch")
	ErrElementsLength    = errors.New("oprf: element array length is not a multiple of 32 bytes")
	ErrInvalidElement    = errors.New("oprf: invalid or non-canonical element encoding")
	ErrIdentityElement   = errors.New("oprf: identity element")
	ErrProofLength       = errors.New("oprf: proof is not 64 bytes")
	ErrProofEncoding     = errors.New("oprf: proof scalar is not canonical")
	ErrProofVerification = errors.New("oprf: proof verification failed")
	ErrInputTooLong      = errors.New("oprf: input longer than 65535 bytes")
	ErrInputToIdentity   = errors.New("oprf: input hashes to the identity element")
	ErrInfoTooLong       = errors.New("oprf: info longer than 65535 bytes")
	ErrInvalidInfo       = errors.New("oprf: info cancels the key (tweaked key is zero)")
	ErrInvalidPrivateKey = errors.New("oprf: invalid private key")
	ErrInvalidPublicKey  = errors.New("oprf: invalid public key")
	ErrInvalidSeed       = errors.New("oprf: key seed is not 32 bytes")
	ErrDeriveKeyPair     = errors.New("oprf: key derivation found no non-zero scalar")
	ErrRandomness        = errors.New("oprf: randomness source returned a zero scalar")
	ErrOutputLength      = errors.New("oprf: output slice length differs from the number of inputs")
	ErrNilState          = errors.New("oprf: nil blind state")
	ErrStateUsed         = errors.New("oprf: blind state already finalised")
	ErrStateKey          = errors.New("oprf: additive blind state was made for another key or info")
	ErrProofRule         = errors.New("oprf: unknown proof rule")
	ErrBlinding          = errors.New("oprf: additive blinding needs the verifiable partially-oblivious mode")
)

// ElementError says which element of a flat array was rejected, so a node can
// name the offending index in its reply. It unwraps to ErrInvalidElement or
// ErrIdentityElement.
type ElementError struct {
	Index int
	Err   error
}

func (e *ElementError) Error() string { return fmt.Sprintf("%v (element %d)", e.Err, e.Index) }
func (e *ElementError) Unwrap() error { return e.Err }

// InputError says which input of a batch was rejected. It unwraps to
// ErrInputTooLong or ErrInputToIdentity.
type InputError struct {
	Index int
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("%v (input %d)", e.Err, e.Index) }
func (e *InputError) Unwrap() error { return e.Err }
