package requester

import (
	"errors"

	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Sentinel errors. Query and the other methods wrap them with detail; the
// gRPC layer maps ErrInvalidArgument to INVALID_ARGUMENT, ErrOverLimit to
// FAILED_PRECONDITION and ErrNotFound to NOT_FOUND.
var (
	// ErrInvalidArgument is a request the node cannot run as given.
	ErrInvalidArgument = errors.New("requester: invalid argument")
	// ErrOverLimit is this institution flagged past its overdraft limit by
	// settlement: providers refuse it, so it does not ask.
	ErrOverLimit = errors.New("requester: institution is flagged over its overdraft limit")
	// ErrNotFound is a query id that is unknown or past retention; a
	// missing transcript is ErrNotFound too, and its text names the
	// exchange instead (notFoundError).
	ErrNotFound = errors.New("requester: query not found")
	// ErrNoLiveStep is a live exchange whose homomorphic step this node
	// keeps no record of (LiveStep).
	ErrNoLiveStep = errors.New("requester: live step not found")
	// ErrClosed is a call after Close.
	ErrClosed = errors.New("requester: closed")
	// ErrConfig is a Config that New refuses.
	ErrConfig = errors.New("requester: invalid config")
	// ErrNoReconcile is Reconcile on a node configured without Bills.
	ErrNoReconcile = errors.New("requester: reconciliation not configured")
	// ErrNoQuality is ReportOutcomes on a node configured without Quality.
	ErrNoQuality = errors.New("requester: quality feedback not configured")
	// ErrReportsFinal is an outcome report on a query whose period is
	// snapshotted: the ledger's reports on it are final.
	ErrReportsFinal = errors.New("requester: the query's period is snapshotted, its outcome reports are final")
)

// notFoundError is a stored record other than a query that is unknown or
// past retention: its text says which record, and errors.Is reports it as
// ErrNotFound, which the business API answers with NOT_FOUND.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return "requester: " + e.what + " not found" }

func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// truncate makes the text of a provider part's error printable and
// bounded (internal/printable). Every such text passes through it: much of
// it quotes the provider or the network, and one invalid byte in a stored
// record or a streamed event would fail the whole query.
func truncate(s string) string { return printable.String(s, riskmeshv1.MaxErrorMessage) }
