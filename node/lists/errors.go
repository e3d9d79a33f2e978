package lists

import (
	"errors"
	"fmt"
)

// Sentinels for every failure this package reports. Row-level ones appear
// inside a *RowError, format-level ones inside a *FormatError.
var (
	ErrConfig         = errors.New("lists: invalid configuration")
	ErrCategory       = errors.New("lists: invalid category code (want 1..255)")
	ErrReason         = errors.New("lists: invalid reason code (want 0..65535)")
	ErrListed         = errors.New("lists: invalid listed date (want YYYY-MM-DD)")
	ErrReference      = errors.New("lists: reference longer than 8 bytes")
	ErrType           = errors.New("lists: missing identifier type")
	ErrMissing        = errors.New("lists: missing value")
	ErrFieldTooLong   = errors.New("lists: field too long")
	ErrFieldType      = errors.New("lists: field is not a string or number")
	ErrFieldCount     = errors.New("lists: wrong number of fields")
	ErrRecordTooLong  = errors.New("lists: record too long")
	ErrSyntax         = errors.New("lists: malformed record")
	ErrNoHeader       = errors.New("lists: no header row")
	ErrMissingColumn  = errors.New("lists: mapped column not in header")
	ErrDuplicateField = errors.New("lists: mapped column appears twice in header")
	ErrColumns        = errors.New("lists: query result does not match the column contract")
)

// RowError reports one row that was skipped. It never holds the row's
// values, only where the row is and why it was rejected, so it is safe to log.
type RowError struct {
	// Row is the 1-based line number where the record starts for files, or
	// the 1-based ordinal of the result row for PostgreSQL.
	Row int64
	// Field is the mapping field that failed ("id", "type", "category",
	// "reason", "listed", "reference"), or "" when the whole row is wrong.
	Field string
	// Err is an *ident.Error (which names the identifier type and reason)
	// or one of this package's sentinels.
	Err error
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("lists: row %d: %v", e.Row, e.Err)
	}
	return fmt.Sprintf("lists: row %d: %s: %v", e.Row, e.Field, e.Err)
}

// Unwrap makes errors.Is(err, ident.ErrChecksum) and the like work.
func (e *RowError) Unwrap() error { return e.Err }

// FormatError reports input that is not the declared format; it ends the
// stream because the reader cannot know where the next record starts.
type FormatError struct {
	// Line is the 1-based line where the record with the problem starts,
	// as RowError.Row counts: the line to open the file at.
	Line int64
	// Found is the line where the reader found the problem when that is
	// past Line (a quoted field runs over line breaks, maybe to the end of
	// the file); 0 otherwise.
	Found int64
	Err   error
}

func (e *FormatError) Error() string {
	if e.Found > e.Line {
		return fmt.Sprintf("lists: line %d: %v (found on line %d)", e.Line, e.Err, e.Found)
	}
	return fmt.Sprintf("lists: line %d: %v", e.Line, e.Err)
}

// Unwrap exposes the cause (ErrRecordTooLong, ErrSyntax, csv.ErrQuote, ...).
func (e *FormatError) Unwrap() error { return e.Err }
