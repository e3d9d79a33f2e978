package transcript

import "errors"

var (
	ErrVersion           = errors.New("transcript: unknown format version")
	ErrProtocol          = errors.New("transcript: unknown protocol")
	ErrSuite             = errors.New("transcript: unknown suite")
	ErrCategory          = errors.New("transcript: invalid category")
	ErrParty             = errors.New("transcript: invalid party (MSP id)")
	ErrSameParty         = errors.New("transcript: requester and responder are the same party")
	ErrCount             = errors.New("transcript: item count out of range")
	ErrCountMismatch     = errors.New("transcript: element count disagrees with the header")
	ErrElementSize       = errors.New("transcript: element size does not match the suite")
	ErrProofSize         = errors.New("transcript: proof size does not match the protocol")
	ErrUnexpectedOwn     = errors.New("transcript: responder elements are not allowed for this protocol")
	ErrMalformed         = errors.New("transcript: malformed encoding")
	ErrTrailingData      = errors.New("transcript: trailing data")
	ErrMagic             = errors.New("transcript: not a transcript file")
	ErrSignatureSize     = errors.New("transcript: signature missing or too long")
	ErrRequestSignature  = errors.New("transcript: requester signature does not verify")
	ErrResponseSignature = errors.New("transcript: responder signature does not verify")
	ErrRecordSignature   = errors.New("transcript: chunk record signature does not verify")
	ErrRecordOrder       = errors.New("transcript: chunk record out of place in its stream")
)
