// Package grpcserve runs a gRPC server for as long as a context lives, the
// way every RiskMesh service stops: gracefully, within a bound.
package grpcserve

import (
	"context"
	"net"
	"time"

	"google.golang.org/grpc"
)

// Run serves srv on l until ctx ends, then stops it gracefully, letting
// running calls finish for up to grace before cutting them (a streaming
// Query whose client never reads would otherwise hold the stop forever).
// It returns Serve's error if serving fails first, nil after a stop caused
// by ctx.
func Run(ctx context.Context, srv *grpc.Server, l net.Listener, grace time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	t := time.NewTimer(grace)
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
