package auditor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Serve serves the Auditor service on l with mutual TLS (ServerTLS with
// cert and Config.Authorizer) until ctx ends, then stops gracefully within
// Config.GracePeriod. It returns nil after a stop caused by ctx.
func (s *Service) Serve(ctx context.Context, l net.Listener, cert tls.Certificate) error {
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(ServerTLS(cert, s.cfg.Authorizer, s.cfg.Now))),
		grpc.MaxRecvMsgSize(s.cfg.MaxTranscriptSize+MaxClaimLen+1024),
	)
	riskmeshv1.RegisterAuditorServer(srv, s)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("auditor: serve: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	t := time.NewTimer(s.cfg.GracePeriod)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		srv.Stop()
		<-stopped
	}
	<-done
	return nil
}
