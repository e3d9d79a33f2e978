package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Write timeouts of the node's HTTP listeners: one response of /metrics or
// /healthz, and one of /debug/pprof/, whose CPU profile and execution
// trace last as long as the caller asks (net/http/pprof refuses a duration
// at or over the server's write timeout).
const (
	metricsWriteTimeout = 30 * time.Second
	pprofWriteTimeout   = 10 * time.Minute
)

// listenHTTP listens on addr (TCP) and serves h there until ctx ends, as
// the background component name: the metrics and the profiles listeners.
func (n *node) listenHTTP(ctx context.Context, name, addr string, h http.Handler, writeTimeout time.Duration) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("daemon: %s listen: %w", name, err)
	}
	n.goRun(name, func(ctx context.Context) error { return serveHTTP(ctx, l, h, writeTimeout) }, ctx)
	return nil
}

// serveHTTP serves h on l until ctx ends, then gives the requests in
// flight 5 s to finish before it closes their connections.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, writeTimeout time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: writeTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// A profile still being recorded: cut it off.
		return errors.Join(err, srv.Close())
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
