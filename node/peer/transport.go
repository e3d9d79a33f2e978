package peer

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlogwriter"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Handler answers one request from an authenticated peer. ctx ends when
// Config.HandleTimeout passes or the connection closes; a handler that
// returns nil makes the server answer INTERNAL (or UNAVAILABLE if ctx had
// ended). Refusals are PeerResponse{error} values with a code.
type Handler func(ctx context.Context, peer Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse

// Config configures both sides of the transport. Certificate and Authorizer
// are required (and Handler for Listen); every other zero field takes the
// default written in its comment.
type Config struct {
	// Certificate is this institution's TLS certificate and key, the one
	// whose fingerprint the ledger registry records.
	Certificate tls.Certificate
	// GetCertificate, if set, replaces Certificate: it is called at every
	// handshake, so a node that rotates its certificate presents the new
	// one on new connections while established ones carry on.
	GetCertificate func() *tls.Certificate
	// Authorizer maps a peer's certificate fingerprint to its MSP id and
	// refuses anyone else, inside the handshake.
	Authorizer Authorizer
	// Handler answers requests (Listen only).
	Handler Handler
	// StatelessResetKey (Listen only) lets the server tell a peer at once
	// that a connection from before a restart is gone (RFC 9000 section
	// 10.3): a peer sending on it gets a stateless reset and redials,
	// instead of waiting out IdleTimeout or its request's deadline. It must
	// be secret and the same across restarts (the daemon keeps it in its
	// data directory). Default nil: no resets are sent.
	StatelessResetKey *quic.StatelessResetKey

	// HandshakeTimeout bounds the QUIC and TLS handshake: on Dial as a
	// context deadline, on the server as QUIC's handshake idle timeout.
	// Default 10 s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection with no traffic for this long; both
	// sides send keep-alives at a third of it while a connection is open.
	// Default 60 s.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one request frame, from the stream's
	// acceptance to its last byte (server). Default 15 s: a maximal 2 MiB
	// catalog-PSI request at about 1 Mbit/s.
	ReadTimeout time.Duration
	// HandleTimeout bounds the Handler (the context it receives). Default
	// 30 s: a maximal catalog-PSI batch evaluated on a loaded machine.
	HandleTimeout time.Duration
	// WriteTimeout bounds writing the response frame (server). Default 15 s.
	WriteTimeout time.Duration

	// MaxStreams is the number of requests one connection may have served
	// at once (server). QUIC grants one stream credit more, which the
	// server keeps back until its next answer so that the grant rides in
	// that answer's packet (heldCredit). Default 16.
	MaxStreams int
	// MaxConnsPerPeer is how many connections one peer (certificate) may
	// hold at once, so that MaxStreams cannot be multiplied by opening more
	// connections; the extra connection is closed with RATE_LIMITED.
	// Default 4: one certificate serves an institution's node, its auditor
	// service and its operator's ledger commands at once (with 2, the
	// regulator's `riskmesh ledger` was refused beside a running demo).
	MaxConnsPerPeer int
	// RequestRate is each peer's sustained request rate, in requests per
	// second over all its connections, and RequestBurst how many it may
	// send at once after a pause. Above it a stream is answered
	// RATE_LIMITED with retry_after_ms. Defaults 1,000 per second, burst
	// 2,000: above what an honest requester's coalescing sends to one
	// provider (docs/peer-transport.md, "The request rate limit").
	RequestRate  float64
	RequestBurst int
	// MaxRequestSize bounds a request frame (server). Default
	// riskmeshv1.MaxPeerRequestSize (about 2 MiB: the largest catalog-PSI
	// request); a node serving ECDH-PSI raises it.
	MaxRequestSize int

	// qlogTrace, if set, receives the qlog events of every connection
	// (quic.Config.Tracer): the package's benchmarks count packets with it.
	qlogTrace func(ctx context.Context, isClient bool, connID quic.ConnectionID) qlogwriter.Trace
}

// Defaults of Config's zero fields.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultReadTimeout      = 15 * time.Second
	DefaultHandleTimeout    = 30 * time.Second
	DefaultWriteTimeout     = 15 * time.Second
	DefaultMaxStreams       = 16
	DefaultMaxConnsPerPeer  = 4
	DefaultRequestRate      = 1000
	DefaultRequestBurst     = 2000
)

// withDefaults validates c once and fills its zero fields.
func (c Config) withDefaults(server bool) (Config, error) {
	if c.GetCertificate == nil && (len(c.Certificate.Certificate) == 0 || c.Certificate.PrivateKey == nil) {
		return c, ErrNoCertificate
	}
	if c.Authorizer == nil {
		return c, ErrNoAuthorizer
	}
	if server && c.Handler == nil {
		return c, ErrNoHandler
	}
	if c.HandshakeTimeout < 0 || c.IdleTimeout < 0 || c.ReadTimeout < 0 || c.HandleTimeout < 0 ||
		c.WriteTimeout < 0 || c.MaxStreams < 0 || c.MaxConnsPerPeer < 0 || c.RequestRate < 0 ||
		c.RequestBurst < 0 || c.MaxRequestSize < 0 {
		return c, errors.New("peer: negative value in config")
	}
	c.HandshakeTimeout = cmp.Or(c.HandshakeTimeout, DefaultHandshakeTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.HandleTimeout = cmp.Or(c.HandleTimeout, DefaultHandleTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.MaxStreams = cmp.Or(c.MaxStreams, DefaultMaxStreams)
	c.MaxConnsPerPeer = cmp.Or(c.MaxConnsPerPeer, DefaultMaxConnsPerPeer)
	c.RequestRate = cmp.Or(c.RequestRate, DefaultRequestRate)
	c.RequestBurst = cmp.Or(c.RequestBurst, DefaultRequestBurst)
	c.MaxRequestSize = cmp.Or(c.MaxRequestSize, riskmeshv1.MaxPeerRequestSize)
	return c, nil
}

func (c *Config) now() time.Time { return time.Now() }

// quicConfig is the QUIC configuration of either side. Receive windows are
// quic-go's defaults, written out because they bound what a peer can make
// this node buffer (docs/peer-transport.md, "Memory a peer can hold").
func (c *Config) quicConfig(server bool) *quic.Config {
	qc := &quic.Config{
		HandshakeIdleTimeout:           c.HandshakeTimeout,
		MaxIdleTimeout:                 c.IdleTimeout,
		KeepAlivePeriod:                c.IdleTimeout / 3,
		InitialStreamReceiveWindow:     initialStreamWindow,
		MaxStreamReceiveWindow:         maxStreamWindow,
		InitialConnectionReceiveWindow: initialConnWindow,
		MaxConnectionReceiveWindow:     maxConnWindow,
		// Only the requester opens streams, and never unidirectional ones.
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: -1,
		Tracer:                c.qlogTrace,
	}
	if server {
		// One credit more than MaxStreams, kept back by heldCredit; the
		// server handles at most MaxStreams requests at once (serveConn).
		qc.MaxIncomingStreams = int64(c.MaxStreams) + 1
		qc.RequireStreamCreditRelease = true
	}
	return qc
}

// Flow-control windows (quic-go's defaults): a stream starts with 512 KiB
// and a connection with 768 KiB; quic-go doubles a window when the
// application reads it within a few round trips, up to 6 MiB per stream and
// 15 MiB per connection, enough for a 17 MB live query at about 100 ms
// round trip without waiting on credit.
const (
	initialStreamWindow = 512 << 10
	maxStreamWindow     = 6 << 20
	initialConnWindow   = 768 << 10
	maxConnWindow       = 15 << 20
)

// requestLimit is the largest frame a request of req's kind may take.
func requestLimit(req *riskmeshv1.PeerRequest) int {
	switch req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_Ecdh:
		return riskmeshv1.MaxECDHRequestSize
	case *riskmeshv1.PeerRequest_EcdhReturn:
		return riskmeshv1.MaxECDHReturnSize
	case *riskmeshv1.PeerRequest_LiveQuery:
		return riskmeshv1.MaxLiveQuerySize
	case *riskmeshv1.PeerRequest_LiveKey:
		return riskmeshv1.MaxLiveKeyUploadSize
	default:
		return riskmeshv1.MaxPeerRequestSize
	}
}

// finishRead ends the read side of a stream whose one frame has been read.
// The end of the stream (FIN) usually came with the frame's last bytes and
// was read with them; when the frame spanned several packets it often
// follows in a packet of its own. Reading it if it is there already, rather
// than cancelling, keeps quic-go from sending STOP_SENDING, which the peer
// must answer with RESET_STREAM: two more packets for nothing. Anything else
// (bytes after the frame, or no FIN yet) is cancelled without waiting.
func finishRead(str *quic.Stream) {
	_ = str.SetReadDeadline(time.Now())
	var b [1]byte
	if n, err := str.Read(b[:]); n == 0 && errors.Is(err, io.EOF) {
		return
	}
	str.CancelRead(0)
}

// contextError reports err as ctx's error when ctx has ended, or when err
// is the stream deadline Do derived from ctx's deadline, so that callers
// see errors.Is(err, context.DeadlineExceeded) however the deadline struck.
func contextError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("peer: %s: %w (%v)", op, ctxErr, err)
	}
	var ne net.Error
	if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
		return fmt.Errorf("peer: %s: %w (%v)", op, context.DeadlineExceeded, err)
	}
	if re, ok := remoteFromConn(err); ok {
		return re
	}
	return fmt.Errorf("peer: %s: %w", op, err)
}
