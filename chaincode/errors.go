package chaincode

import (
	"errors"
	"strings"
)

// Code is a stable error code. Codes travel inside chaincode error messages as
// "riskmesh: <code>: <detail>" (see Error), because a Fabric peer passes a
// chaincode error to the client only as a message string; clients recover the
// code with ParseError. Codes are never renamed or reused.
type Code string

const (
	// CodeForbidden: the caller may not perform this function (wrong
	// organisation, not the entry's responder or requester, not the regulator).
	CodeForbidden Code = "forbidden"
	// CodeNotFound: the institution, period, entry or snapshot does not exist.
	CodeNotFound Code = "not_found"
	// CodeInvalidArgument: malformed input (bad JSON, bad key, wrong length,
	// unparsable transcript header, arithmetic overflow).
	CodeInvalidArgument Code = "invalid_argument"
	// CodeBadSignature: a transcript or endorsement signature does not verify
	// against the registered key.
	CodeBadSignature Code = "bad_signature"
	// CodeWrongAmount: the entry's amount is not item count x period price.
	CodeWrongAmount Code = "wrong_amount"
	// CodePeriodClosed: the period no longer accepts the operation (record
	// after its grace window, reversal after its snapshot).
	CodePeriodClosed Code = "period_closed"
	// CodeConflict: something different already exists under the key
	// (a different entry with the same key, an institution added twice).
	CodeConflict Code = "conflict"
	// CodeAlreadyReversed: the entry has been reversed already.
	CodeAlreadyReversed Code = "already_reversed"
	// CodeInactive: an institution involved is suspended, or lacks the role.
	CodeInactive Code = "institution_inactive"
	// CodeFailedPrecondition: the period state machine does not allow the
	// step now (settle an open period, snapshot before settle, ...).
	CodeFailedPrecondition Code = "failed_precondition"
	// CodeInternal: stored state is unreadable; a bug or a corrupted store.
	CodeInternal Code = "internal"
)

// codes lists every defined code, for ParseError.
var codes = [...]Code{
	CodeForbidden, CodeNotFound, CodeInvalidArgument, CodeBadSignature,
	CodeWrongAmount, CodePeriodClosed, CodeConflict, CodeAlreadyReversed,
	CodeInactive, CodeFailedPrecondition, CodeInternal,
}

// Known reports whether c is a defined code.
func (c Code) Known() bool {
	for _, k := range codes {
		if c == k {
			return true
		}
	}
	return false
}

// ErrorPrefix starts every contract error message.
const ErrorPrefix = "riskmesh: "

// Error is a contract rejection. Its message is the wire form
// "riskmesh: <code>: <detail>".
type Error struct {
	Code   Code
	Detail string
}

func (e *Error) Error() string { return ErrorPrefix + string(e.Code) + ": " + e.Detail }

// newError builds an *Error; detail is a constant or formatted by the caller.
func newError(code Code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// maxDetail bounds the detail ParseError keeps, so a hostile peer message
// cannot make a client hold an arbitrarily large string.
const maxDetail = 1024

// ParseError finds the first "riskmesh: <code>: <detail>" in msg, which may
// be wrapped by the transport (fabric-gateway prefixes peer and status text).
// The detail runs to the end of msg or to the first newline, and is cut at
// 1 KiB. It reports false if msg holds no known code.
func ParseError(msg string) (*Error, bool) {
	for rest := msg; ; {
		i := strings.Index(rest, ErrorPrefix)
		if i < 0 {
			return nil, false
		}
		rest = rest[i+len(ErrorPrefix):]
		j := strings.Index(rest, ": ")
		if j <= 0 {
			continue
		}
		code := Code(rest[:j])
		if !code.Known() {
			continue
		}
		detail := rest[j+2:]
		if k := strings.IndexByte(detail, '\n'); k >= 0 {
			detail = detail[:k]
		}
		if len(detail) > maxDetail {
			detail = detail[:maxDetail]
		}
		return &Error{Code: code, Detail: detail}, true
	}
}

// CodeOf returns the code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
