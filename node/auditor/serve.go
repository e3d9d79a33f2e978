package auditor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/riskmesh/riskmesh/internal/grpcserve"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Serve serves the Auditor service on l with mutual TLS (ServerTLS with
// cert, read at each handshake, and Config.Authorizer) until ctx ends, then
// stops gracefully within Config.GracePeriod. It returns nil after a stop
// caused by ctx.
func (s *Service) Serve(ctx context.Context, l net.Listener, cert func() *tls.Certificate) error {
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(ServerTLS(cert, s.cfg.Authorizer, s.cfg.Now))),
		grpc.MaxRecvMsgSize(s.cfg.MaxTranscriptSize+MaxClaimLen+1024),
	)
	riskmeshv1.RegisterAuditorServer(srv, s)
	if err := grpcserve.Run(ctx, srv, l, s.cfg.GracePeriod); err != nil {
		return fmt.Errorf("auditor: serve: %w", err)
	}
	return nil
}
