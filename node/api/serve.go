package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/internal/grpcserve"
	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// adminMethods are the methods Config.AdminClients restricts over TCP.
var adminMethods = map[string]bool{
	riskmeshv1.RiskMesh_ImportList_FullMethodName:       true,
	riskmeshv1.RiskMesh_RefreshLists_FullMethodName:     true,
	riskmeshv1.RiskMesh_CatalogStatus_FullMethodName:    true,
	riskmeshv1.RiskMesh_RotateKeys_FullMethodName:       true,
	riskmeshv1.RiskMesh_Backup_FullMethodName:           true,
	riskmeshv1.RiskMesh_Reconcile_FullMethodName:        true,
	riskmeshv1.RiskMesh_ListDeadEvents_FullMethodName:   true,
	riskmeshv1.RiskMesh_ReplayDeadEvents_FullMethodName: true,
}

// streamWorkers is how many goroutines the server keeps to run calls on,
// so that a call runs on a stack an earlier call grew rather than growing a
// new goroutine's (internal/workers says what that costs). A call arriving
// while all are busy starts its own goroutine, as without the option: it
// bounds nothing. grpc.NumStreamWorkers is experimental in grpc-go; a
// release without it fails to build here, and dropping the option costs
// only that growth.
const streamWorkers = workers.DefaultIdle

// ListenUnix listens on a unix socket at path with mode 0600, replacing a
// stale socket left by a previous run (but no other kind of file). Put the
// socket in a directory only the node's user may enter (the node's data
// directory is 0700), so that nobody else can reach it between its
// creation and the chmod.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("api: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("api: remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("api: chmod socket: %w", err)
	}
	return l, nil
}

// Serve serves the API on l until ctx ends, then stops gracefully within
// Config.GracePeriod. tlsConf must be nil for a unix listener (the socket's
// permissions are the access check) and, for any other listener, require
// and verify client certificates (tls.RequireAndVerifyClientCert with
// ClientCAs set). It returns nil after a stop caused by ctx.
func (s *Service) Serve(ctx context.Context, l net.Listener, tlsConf *tls.Config) error {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.cfg.MaxRecvSize),
		grpc.ForceServerCodecV2(newBoundedCodec(s.elementBudget)),
		grpc.MaxConcurrentStreams(uint32(s.cfg.MaxStreams)),
		grpc.ChainUnaryInterceptor(s.unaryGuard),
		grpc.ChainStreamInterceptor(s.streamGuard),
		grpc.NumStreamWorkers(streamWorkers),
	}
	switch {
	case l.Addr().Network() == "unix" && tlsConf == nil:
	case tlsConf == nil:
		return fmt.Errorf("api: %s listener without TLS: only a unix socket may serve without mutual TLS", l.Addr().Network())
	case tlsConf.ClientAuth != tls.RequireAndVerifyClientCert || tlsConf.ClientCAs == nil:
		return errors.New("api: TLS config must require and verify client certificates against a client CA")
	default:
		c := tlsConf.Clone()
		if c.MinVersion < tls.VersionTLS13 {
			c.MinVersion = tls.VersionTLS13
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(c)))
	}
	srv := grpc.NewServer(opts...)
	riskmeshv1.RegisterRiskMeshServer(srv, s)

	if err := grpcserve.Run(ctx, srv, l, s.cfg.GracePeriod); err != nil {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// authorize lets every caller of the socket through and, over TLS, allows
// the admin methods only to Config.AdminClients. gRPC has already verified
// the client certificate chain against the client CA.
func (s *Service) authorize(ctx context.Context, method string) error {
	if !adminMethods[method] {
		return nil
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return nil // the unix socket: Serve refuses insecure TCP
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return s.status(ErrAdminOnly)
	}
	if !s.admins[info.State.VerifiedChains[0][0].Subject.CommonName] {
		return s.status(ErrAdminOnly)
	}
	return nil
}

func (s *Service) unaryGuard(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.authorize(ctx, info.FullMethod); err != nil {
		s.logFailure(ctx, info.FullMethod, err)
		return nil, err
	}
	resp, err := h(ctx, req)
	s.logFailure(ctx, info.FullMethod, err)
	return resp, err
}

// streamGuard also admits at most MaxQueries Query calls at a time. It runs
// before the handler reads the request, so a refused call's request is
// never decoded (HTTP/2 flow control holds back all but its first bytes).
func (s *Service) streamGuard(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.authorize(ss.Context(), info.FullMethod); err != nil {
		s.logFailure(ss.Context(), info.FullMethod, err)
		return err
	}
	if info.FullMethod == riskmeshv1.RiskMesh_Query_FullMethodName {
		select {
		case s.queries <- struct{}{}:
			defer func() { <-s.queries }()
		default:
			err := status.Errorf(codes.ResourceExhausted, "api: %d queries already running, the most this node runs at once", s.cfg.MaxQueries)
			s.logFailure(ss.Context(), info.FullMethod, err)
			return err
		}
	}
	err := h(srv, ss)
	s.logFailure(ss.Context(), info.FullMethod, err)
	return err
}

// logFailure records a failed call by method and code; the message may
// name a source or a file, never an identifier, but is left out anyway.
func (s *Service) logFailure(ctx context.Context, method string, err error) {
	if err == nil {
		return
	}
	code := status.Code(err)
	if code == codes.Canceled {
		return
	}
	s.cfg.Logger.LogAttrs(ctx, levelFor(code), "api call failed",
		slog.String("method", method), slog.String("code", code.String()))
}

// levelFor logs the caller's mistakes at Info and the node's at Warn.
func levelFor(c codes.Code) slog.Level {
	switch c {
	case codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.FailedPrecondition, codes.OutOfRange:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
