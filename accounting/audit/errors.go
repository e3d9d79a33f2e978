package audit

import "errors"

// ErrLedger wraps a ledger failure that kept Verify from reaching a verdict
// (unreachable, closed): the report would be a guess, so none is returned.
// A missing entry or institution is not an error; it is a failed check.
var ErrLedger = errors.New("audit: ledger unavailable")
