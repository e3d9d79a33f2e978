package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Server accepts peer connections and answers their requests with the
// Config's Handler.
type Server struct {
	cfg    Config
	udp    *net.UDPConn // owned: the transport does not close a socket it was given
	tr     *quic.Transport
	ln     *quic.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closing  sync.Once // shutdown runs once, from Close or ctx's end
	closeErr error

	mu    sync.Mutex
	peers map[Fingerprint]*peerState
}

// peerState is what the server keeps per authenticated peer. The map holds
// only peers the Authorizer accepted, so its size is bounded by the
// registry, and a peer cannot reset its rate limit by reconnecting.
type peerState struct {
	conns  map[*quic.Conn]struct{}
	bucket *bucket
}

// Listen starts a server on addr (host:port; port 0 picks one, see Addr).
// It serves until ctx ends or Close is called; call Close in either case to
// wait for in-flight handlers, which must return when their context ends.
func Listen(ctx context.Context, addr string, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults(true)
	if err != nil {
		return nil, err
	}
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("peer: listen on %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return nil, fmt.Errorf("peer: listen on %s: %w", addr, err)
	}
	tr := &quic.Transport{Conn: udp, StatelessResetKey: cfg.StatelessResetKey}
	ln, err := tr.Listen(tlsConfig(&cfg, true), cfg.quicConfig(true))
	if err != nil {
		_ = tr.Close()
		_ = udp.Close()
		return nil, fmt.Errorf("peer: listen on %s: %w", addr, err)
	}
	s := &Server{cfg: cfg, udp: udp, tr: tr, ln: ln, peers: make(map[Fingerprint]*peerState)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	context.AfterFunc(s.ctx, func() { _ = s.shutdown() })
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// shutdown closes every live connection with UNAVAILABLE ("shutting down")
// before the listener, the transport and the UDP socket: closing the socket
// first would drop the close frames, leaving peers to find out only when
// their idle timeout or call deadline expires.
func (s *Server) shutdown() error {
	s.closing.Do(func() { s.closeErr = s.closeAll() })
	return s.closeErr
}

func (s *Server) closeAll() error {
	s.mu.Lock()
	var conns []*quic.Conn
	for _, st := range s.peers {
		for c := range st.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		closeConn(c, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "shutting down")
	}
	return errors.Join(s.ln.Close(), s.tr.Close(), s.udp.Close())
}

// Addr is the UDP address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every connection with UNAVAILABLE
// ("shutting down") and waits for in-flight handlers to return.
func (s *Server) Close() error {
	s.cancel()
	err := s.shutdown()
	s.wg.Wait()
	return err
}

// Connections is the number of live authenticated connections, for the
// node's metrics.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.peers {
		n += len(st.conns)
	}
	return n
}

// Revoke closes every live connection of the peer with this certificate
// fingerprint, with the connection error code SUSPENDED, and forgets its
// state. Call it after the registry the Authorizer reads has dropped the
// peer: connections being set up concurrently re-check the Authorizer after
// registering, so none escapes. It returns the number of connections closed.
func (s *Server) Revoke(fingerprint [32]byte) int {
	s.mu.Lock()
	st := s.peers[fingerprint]
	delete(s.peers, fingerprint)
	var conns []*quic.Conn
	if st != nil {
		for c := range st.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		closeConn(c, riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED, "institution suspended")
	}
	return len(conns)
}

func closeConn(c *quic.Conn, code riskmeshv1.ErrorCode, msg string) {
	_ = c.CloseWithError(quic.ApplicationErrorCode(code), msg)
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept(s.ctx)
		if err != nil {
			return // listener closed or ctx ended
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(conn)
		}()
	}
}

// register adds conn to its peer's state, refusing a peer already at
// MaxConnsPerPeer.
func (s *Server) register(fp Fingerprint, conn *quic.Conn) (*peerState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.peers[fp]
	if st == nil {
		st = &peerState{
			conns:  make(map[*quic.Conn]struct{}),
			bucket: newBucket(s.cfg.RequestRate, s.cfg.RequestBurst),
		}
		s.peers[fp] = st
	}
	if len(st.conns) >= s.cfg.MaxConnsPerPeer {
		return nil, false
	}
	st.conns[conn] = struct{}{}
	return st, true
}

func (s *Server) unregister(fp Fingerprint, conn *quic.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.peers[fp]; st != nil {
		delete(st.conns, conn)
	}
}

func (s *Server) serveConn(conn *quic.Conn) {
	certs := conn.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 { // the handshake requires one; never trust that alone
		closeConn(conn, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER, "no certificate")
		return
	}
	fp := FingerprintOf(certs[0].Raw)
	st, ok := s.register(fp, conn)
	if !ok {
		closeConn(conn, riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many connections")
		return
	}
	// Every acceptor of the connection ends with it; it leaves the
	// registry then, once.
	context.AfterFunc(conn.Context(), func() { s.unregister(fp, conn) })
	// Re-check after registering: a Revoke between the handshake and here
	// would otherwise miss this connection.
	id, err := authorize(s.cfg.Authorizer, certs, time.Now())
	if err != nil {
		closeConn(conn, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER, "unknown peer")
		return
	}
	if s.ctx.Err() != nil { // registered after shutdown collected the connections
		closeConn(conn, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "shutting down")
		return
	}
	c := &connServer{s: s, conn: conn, id: id, st: st, serving: make(chan struct{}, s.cfg.MaxStreams)}
	c.accept()
}

// connServer accepts one connection's streams and answers each on the
// goroutine that accepted it.
//
// One goroutine at a time waits in AcceptStream (quic-go wakes one waiter
// per batch of new streams, so a second waiter could sleep through a
// stream). Having taken a stream it hands the waiting to an idle worker
// (internal/workers) and answers the stream itself: the request is read,
// handled and answered on the goroutine quic-go woke, and the hand-off to
// the next acceptor is off its path. A stream is accepted only while fewer
// than MaxStreams are being served: the acceptor takes a slot of serving
// before it waits. QUIC grants one credit more (heldCredit), which before
// the connection's first answer lets one more stream wait, unread.
type connServer struct {
	s       *Server
	conn    *quic.Conn
	id      Identity
	st      *peerState
	credit  heldCredit
	serving chan struct{}
}

// accept waits for the connection's next stream and answers it. It waits
// until the connection itself closes, not until s.ctx ends: a connection
// that left the registry on its own when the server's context ended would
// escape closeAll and be dropped with the socket instead of being told
// UNAVAILABLE.
func (c *connServer) accept() {
	select {
	case c.serving <- struct{}{}:
	case <-c.conn.Context().Done():
		return
	}
	str, err := c.conn.AcceptStream(c.conn.Context())
	if err != nil {
		<-c.serving
		return
	}
	c.s.wg.Add(1)
	workers.Go(func() {
		defer c.s.wg.Done()
		c.accept()
	})
	c.s.serveStream(c.conn, c.id, c.st, str)
	c.credit.answered(str)
	<-c.serving
}

// serveStream answers one request: rate check, read (ReadTimeout), handle
// (HandleTimeout), write (WriteTimeout). Every refusal is a PeerError frame.
func (s *Server) serveStream(conn *quic.Conn, id Identity, st *peerState, str *quic.Stream) {
	defer str.Close()
	// The request is one frame; read the FIN that follows it or stop
	// receiving, or the stream never completes and its credit towards
	// MaxStreams is never returned.
	defer finishRead(str)
	if ok, wait := st.bucket.take(time.Now()); !ok {
		str.CancelRead(0) // the body is not wanted
		s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED, "request rate exceeded", wait), 0)
		return
	}
	_ = str.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	req := new(riskmeshv1.PeerRequest)
	if err := ReadFrame(str, req, s.cfg.MaxRequestSize); err != nil {
		str.CancelRead(0)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "request not received in time", 0), 0)
			return
		}
		var se *FrameSizeError
		if errors.As(err, &se) {
			s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, se.Error(), 0), 0)
			return
		}
		s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "undecodable request frame", 0), 0)
		return
	}
	switch req.GetBody().(type) {
	case nil:
		s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "request has no body", 0), 0)
		return
	case *riskmeshv1.PeerRequest_EcdhReturn:
		s.reply(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "ecdh_return never opens a stream", 0), 0)
		return
	}
	ctx, cancel := context.WithTimeout(conn.Context(), s.cfg.HandleTimeout)
	resp := s.cfg.Handler(ctx, id, req)
	handleErr := ctx.Err()
	cancel()
	if resp == nil {
		if handleErr != nil {
			resp = errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, "request not handled in time", 0)
		} else {
			resp = errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "no response", 0)
		}
	}
	s.reply(str, resp, riskmeshv1.MaxResponseSize(req))
}

// reply writes resp within WriteTimeout. A response the handler built too
// large (or empty) is replaced by INTERNAL: a conforming requester would
// refuse it anyway.
func (s *Server) reply(str *quic.Stream, resp *riskmeshv1.PeerResponse, limit int) {
	_ = str.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	limit = max(limit, riskmeshv1.MaxPeerErrorSize)
	if resp.GetBody() == nil {
		resp = errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "response has no body", 0)
	}
	err := WriteFrame(str, resp, limit)
	if errors.Is(err, ErrFrameTooLarge) {
		err = WriteFrame(str, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, "response too large", 0), limit)
	}
	if err != nil {
		str.CancelWrite(0)
	}
}
