package api

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
)

// Sentinel errors of the API's own checks; each maps to the status code in
// its comment.
var (
	// ErrNoRequester: this node runs no requester side (FailedPrecondition).
	ErrNoRequester = errors.New("api: this node does not query (no requester side)")
	// ErrNoProvider: this node runs no provider side (FailedPrecondition).
	ErrNoProvider = errors.New("api: this node does not provide lists (no provider side)")
	// ErrNoPush: this node pushes no events (FailedPrecondition).
	ErrNoPush = errors.New("api: this node pushes no events (no push destinations in node.yaml)")
	// ErrNoReconcile: this node reconciles no lists (FailedPrecondition).
	ErrNoReconcile = errors.New("api: this node reconciles no lists (no reconcile section in node.yaml)")
	// ErrNotSupported: the component behind the method does not implement
	// it (Unimplemented).
	ErrNotSupported = errors.New("api: not supported by this node")
	// ErrAdminOnly: an admin method called by a client certificate not in
	// Config.AdminClients (PermissionDenied).
	ErrAdminOnly = errors.New("api: admin method not allowed for this client")
)

// ErrorCode maps every error that wraps Err to Code.
type ErrorCode struct {
	Err  error
	Code codes.Code
}

// baseCodes are the mappings every Service applies after Config.Errors.
var baseCodes = []ErrorCode{
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
	{ErrNoRequester, codes.FailedPrecondition},
	{ErrNoProvider, codes.FailedPrecondition},
	{ErrNoPush, codes.FailedPrecondition},
	{ErrNoReconcile, codes.FailedPrecondition},
	{ErrNotSupported, codes.Unimplemented},
	{ErrAdminOnly, codes.PermissionDenied},
	{accounting.ErrNotFound, codes.NotFound},
	{accounting.ErrInvalidArgument, codes.InvalidArgument},
	{accounting.ErrForbidden, codes.PermissionDenied},
	{accounting.ErrInactive, codes.FailedPrecondition},
	{accounting.ErrPeriodClosed, codes.FailedPrecondition},
	{accounting.ErrFailedPrecondition, codes.FailedPrecondition},
	{accounting.ErrConflict, codes.Aborted},
	{accounting.ErrClosed, codes.Unavailable},
}

// toStatus turns err into a gRPC status error. An error that already
// carries a status (status.FromError) keeps it; otherwise the first
// matching entry of codes decides, and anything else is Internal. The
// message is err's text: errors in this project never carry identifiers.
func toStatus(err error, table []ErrorCode) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		return s.Err()
	}
	for _, m := range table {
		if errors.Is(err, m.Err) {
			return status.Error(m.Code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}
