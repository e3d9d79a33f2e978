package peer

import (
	"context"
	"fmt"

	"github.com/quic-go/quic-go"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// streamCancelled is the stream error code a requester uses when its
// context ends mid-request.
const streamCancelled quic.StreamErrorCode = 1

// Client is a connection to one peer, over which requests run concurrently,
// one stream each.
type Client struct {
	conn *quic.Conn
	peer Identity
}

// Dial connects to the peer at addr and authenticates it: its certificate
// must be known to cfg.Authorizer. It does not check WHICH institution
// answered: compare Peer().MSPID with the one the registry lists at addr.
// The handshake is bounded by ctx and cfg.HandshakeTimeout.
func Dial(ctx context.Context, addr string, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults(false)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()
	conn, err := quic.DialAddr(hctx, addr, tlsConfig(&cfg, false), cfg.quicConfig(false))
	if err != nil {
		return nil, contextError(hctx, "dial "+addr, err)
	}
	id, err := authorize(cfg.Authorizer, conn.ConnectionState().TLS.PeerCertificates, cfg.now())
	if err != nil { // VerifyConnection already refused it; never reached
		closeConn(conn, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER, "unknown peer")
		return nil, err
	}
	return &Client{conn: conn, peer: id}, nil
}

// Peer is the authenticated identity of the remote node.
func (c *Client) Peer() Identity { return c.peer }

// Close closes the connection.
func (c *Client) Close() error {
	return c.conn.CloseWithError(0, "")
}

// Do sends req on a new stream and returns the response frame. A PeerError
// answer, or the peer closing the connection with an error code, is
// returned as a *RemoteError (with the response, when there is a frame). A
// failure before the whole request was written also satisfies
// errors.Is(err, ErrNotSent).
// ctx bounds the whole exchange; when it ends, the stream is cancelled and
// the error satisfies errors.Is(err, ctx.Err()). The response is bounded by
// riskmeshv1.MaxResponseSize(req) before it is read.
func (c *Client) Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	if req.GetBody() == nil {
		return nil, ErrNoBody
	}
	str, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, notSent(contextError(ctx, "open stream", err))
	}
	stop := context.AfterFunc(ctx, func() {
		str.CancelWrite(streamCancelled)
		str.CancelRead(streamCancelled)
	})
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = str.SetDeadline(dl)
	}
	if err := WriteFrame(str, req, requestLimit(req)); err != nil {
		str.CancelRead(streamCancelled)
		return nil, notSent(contextError(ctx, "send request", err))
	}
	// Closing can fail only if the server already stopped reading, which
	// it does once it has the whole request: its answer is still to come.
	_ = str.Close()
	resp := new(riskmeshv1.PeerResponse)
	if err := ReadFrame(str, resp, riskmeshv1.MaxResponseSize(req)); err != nil {
		str.CancelRead(streamCancelled)
		return nil, contextError(ctx, "read response", err)
	}
	finishRead(str) // one response frame per request
	switch b := resp.GetBody().(type) {
	case nil:
		return nil, fmt.Errorf("%w: response has no body", ErrMalformedFrame)
	case *riskmeshv1.PeerResponse_Error:
		return resp, remoteFromFrame(b.Error)
	}
	return resp, nil
}

// notSent marks err as a failure before the request frame was written,
// keeping what it wraps (a context error, a *RemoteError).
func notSent(err error) error { return fmt.Errorf("%w: %w", ErrNotSent, err) }
