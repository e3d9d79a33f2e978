package accounting

import (
	"errors"

	"github.com/riskmesh/riskmesh/chaincode"
)

// Sentinel errors, one per contract error code. A contract rejection from
// either backend is an *Error that unwraps to one of these.
var (
	ErrForbidden          = errors.New("accounting: forbidden")
	ErrNotFound           = errors.New("accounting: not found")
	ErrInvalidArgument    = errors.New("accounting: invalid argument")
	ErrBadSignature       = errors.New("accounting: bad signature")
	ErrWrongAmount        = errors.New("accounting: wrong amount")
	ErrPeriodClosed       = errors.New("accounting: period closed")
	ErrConflict           = errors.New("accounting: conflict")
	ErrAlreadyReversed    = errors.New("accounting: already reversed")
	ErrInactive           = errors.New("accounting: institution inactive")
	ErrFailedPrecondition = errors.New("accounting: failed precondition")
	ErrInternal           = errors.New("accounting: internal contract error")
	// ErrClosed is returned by an embedded ledger after Close.
	ErrClosed = errors.New("accounting: ledger closed")
	// ErrLogTampered is returned by VerifyLog when the hash chain breaks.
	ErrLogTampered = errors.New("accounting: transaction log does not verify")
	// ErrLogHead is returned by ParseLogHead for text that is not a head.
	ErrLogHead = errors.New("accounting: malformed log head (want SEQ:HEX, a decimal sequence number and a 64-digit hash)")
	// ErrPaymentsMismatch is returned by CheckPayments for a payment
	// instructions file that is not the one the ledger recorded.
	ErrPaymentsMismatch = errors.New("accounting: payment instructions differ from the ones the ledger recorded")
	// ErrBadResult reports a contract answer the client cannot use: too
	// large, not the JSON of its function's result, or inconsistent with
	// the call (a Record answer with another number of outcomes). A peer
	// sent it, so it is an error, never a panic.
	ErrBadResult = errors.New("accounting: malformed contract result")
)

var sentinels = map[chaincode.Code]error{
	chaincode.CodeForbidden:          ErrForbidden,
	chaincode.CodeNotFound:           ErrNotFound,
	chaincode.CodeInvalidArgument:    ErrInvalidArgument,
	chaincode.CodeBadSignature:       ErrBadSignature,
	chaincode.CodeWrongAmount:        ErrWrongAmount,
	chaincode.CodePeriodClosed:       ErrPeriodClosed,
	chaincode.CodeConflict:           ErrConflict,
	chaincode.CodeAlreadyReversed:    ErrAlreadyReversed,
	chaincode.CodeInactive:           ErrInactive,
	chaincode.CodeFailedPrecondition: ErrFailedPrecondition,
	chaincode.CodeInternal:           ErrInternal,
}

// Sentinel returns the sentinel error for a contract code (nil if unknown),
// e.g. to classify a rejected Outcome: errors.Is(Sentinel(o.Code), ErrConflict).
func Sentinel(c chaincode.Code) error { return sentinels[c] }

// Error is a contract rejection: the stable code, the contract's detail and,
// when the backend knows it, the transaction id.
type Error struct {
	Code   chaincode.Code
	Detail string
	TxID   string
	// Cause is the backend's own error (for Fabric, the gateway error with
	// its status details), nil for the embedded backend.
	Cause error
}

func (e *Error) Error() string {
	s := "accounting: " + string(e.Code) + ": " + e.Detail
	if e.TxID != "" {
		s += " (tx " + e.TxID + ")"
	}
	return s
}

// Unwrap returns the code's sentinel, so errors.Is(err, ErrForbidden) works,
// and the backend's cause if any.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{sentinels[e.Code], e.Cause}
	}
	return []error{sentinels[e.Code]}
}

// ParseError recovers a contract rejection from an error message of any
// backend: it finds "riskmesh: <code>: <detail>" (the chaincode's error
// form) anywhere in msg. The Fabric backend applies it to the messages of
// fabric-gateway's endorse errors and their peer details.
func ParseError(msg string) (*Error, bool) {
	ce, ok := chaincode.ParseError(msg)
	if !ok {
		return nil, false
	}
	return &Error{Code: ce.Code, Detail: ce.Detail}, true
}

// mapError turns a contract rejection anywhere in err (a *chaincode.Error in
// its chain, or the "riskmesh: <code>: " form in its message) into an *Error
// keeping err as the Cause; other errors are returned unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	var ce *chaincode.Error
	if errors.As(err, &ce) {
		return &Error{Code: ce.Code, Detail: ce.Detail}
	}
	if pe, ok := ParseError(err.Error()); ok {
		pe.Cause = err
		return pe
	}
	return err
}
