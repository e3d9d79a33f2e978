package apiclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	ErrTLSFiles       = errors.New("a TCP API needs a client certificate, its key and the CA that signed the node's API certificate (or use a unix:// socket)")
	ErrRelativePath   = errors.New("must be absolute with a TCP API: the node uses it on its own host")
	ErrEntry          = errors.New("want PERIOD/RESPONDER/SEQUENCE: a period and a sequence number from 1 and the responder's MSP id")
	ErrNoResult       = errors.New("the node ended the query stream without a result")
	ErrIdentifier     = errors.New("want TYPE:VALUE with TYPE one of phone, idcard, card, email, device")
	ErrTooMany        = fmt.Errorf("more than %d identifiers", MaxFileIdentifiers)
	ErrNoneAnswered   = errors.New("no identifier was checked")
	ErrSomeUnanswered = errors.New("some providers did not answer")
	ErrFeedback       = errors.New("feedback wants each hit index once, confirmed or wrong")
)

// Error is a call the node refused or could not take, in words: which API
// it was, what happened and the node's own message. status.Code and
// status.FromError see the gRPC status it keeps.
type Error struct {
	Address string
	Status  *status.Status
}

func (e *Error) GRPCStatus() *status.Status { return e.Status }

func (e *Error) Error() string {
	msg := e.Status.Message()
	switch e.Status.Code() {
	case codes.Unavailable:
		// gRPC describes a connection it could not make as `connection
		// error: desc = "transport: Error while dialing: dial unix ...:
		// connect: ..."` (or "transport: authentication handshake failed:
		// ..."); show the underlying error alone.
		if cause, ok := strings.CutPrefix(msg, `connection error: desc = "transport: `); ok {
			cause = strings.TrimSuffix(cause, `"`)
			if dial, ok := strings.CutPrefix(cause, "Error while dialing: "); ok {
				return fmt.Sprintf("cannot reach the node's API at %s (is the node running?): %s", e.Address, dial)
			}
			return fmt.Sprintf("cannot reach the node's API at %s: %s", e.Address, cause)
		}
		return fmt.Sprintf("the node at %s is unavailable: %s", e.Address, msg)
	case codes.DeadlineExceeded:
		return fmt.Sprintf("the node at %s did not answer in time: %s", e.Address, msg)
	case codes.Canceled:
		return "canceled: " + msg
	case codes.NotFound:
		return "not found: " + msg
	case codes.PermissionDenied:
		return "refused (permission denied): " + msg
	case codes.Unauthenticated:
		return fmt.Sprintf("the node at %s did not accept this client's credentials: %s", e.Address, msg)
	case codes.InvalidArgument, codes.OutOfRange:
		return "invalid request: " + msg
	case codes.ResourceExhausted:
		return "the node is busy or the request too large: " + msg
	case codes.FailedPrecondition:
		return "not now: " + msg
	case codes.Unimplemented:
		return fmt.Sprintf("the node at %s does not offer this call (an older version?): %s", e.Address, msg)
	}
	return fmt.Sprintf("the node at %s failed the call (%s): %s", e.Address, strings.ToLower(e.Status.Code().String()), msg)
}

// explain turns a call's gRPC status error into an *Error; other errors
// (none, io.EOF at a stream's end) pass unchanged.
func explain(address string, err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.OK {
		return &Error{Address: address, Status: s}
	}
	return err
}

func explainUnary(address string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return explain(address, invoker(ctx, method, req, reply, cc, opts...))
	}
}

func explainStream(address string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, explain(address, err)
		}
		return explainedStream{s, address}, nil
	}
}

// explainedStream explains the errors of a stream's messages.
type explainedStream struct {
	grpc.ClientStream
	address string
}

func (s explainedStream) RecvMsg(m any) error { return explain(s.address, s.ClientStream.RecvMsg(m)) }
func (s explainedStream) SendMsg(m any) error { return explain(s.address, s.ClientStream.SendMsg(m)) }
