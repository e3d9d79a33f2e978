package requester

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// errWrongPeer is a provider endpoint answered by another institution.
var errWrongPeer = errors.New("requester: endpoint is another institution's node")

// notSentError is a failure before the request was written: dialling the
// provider failed or reached another institution. The provider cannot have
// seen, answered or billed the request.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// conns keeps one connection per provider, reused by every request to it
// and redialled after a transport failure or an endpoint change.
type conns struct {
	dial    Dialer
	timeout func(context.Context) (context.Context, context.CancelFunc)

	mu    sync.Mutex
	peers map[string]*providerConn
}

// providerConn serialises dialling per provider: concurrent requests wait
// for one handshake instead of racing several.
type providerConn struct {
	mu        sync.Mutex
	conn      Conn
	endpoint  string
	reachable atomic.Bool  // the last dial or request reached the provider
	limit     atomic.Int64 // items per request the provider accepts; 0: unknown
}

func newConns(dial Dialer, timeout func(context.Context) (context.Context, context.CancelFunc)) *conns {
	return &conns{dial: dial, timeout: timeout, peers: make(map[string]*providerConn)}
}

func (c *conns) entry(msp string) *providerConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.peers[msp]
	if p == nil {
		p = new(providerConn)
		c.peers[msp] = p
	}
	return p
}

// get returns a connection to inst at its registered endpoint, dialling if
// there is none yet. Its errors are *notSentError.
func (c *conns) get(ctx context.Context, inst *accounting.Institution) (Conn, error) {
	p := c.entry(inst.MSPID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil && p.endpoint == inst.Endpoint {
		return p.conn, nil
	}
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
	dctx, cancel := c.timeout(ctx)
	defer cancel()
	conn, err := c.dial(dctx, inst.Endpoint)
	if err != nil {
		p.reachable.Store(false)
		return nil, &notSentError{fmt.Errorf("dial %s: %w", inst.MSPID, err)}
	}
	if got := conn.Peer().MSPID; got != inst.MSPID {
		_ = conn.Close()
		p.reachable.Store(false)
		return nil, &notSentError{fmt.Errorf("%w: %s's endpoint answered as %s", errWrongPeer, inst.MSPID, got)}
	}
	p.conn, p.endpoint = conn, inst.Endpoint
	p.reachable.Store(true)
	return conn, nil
}

// do sends req to inst. A failure that is not the provider's own refusal
// (a *peer.RemoteError from a PeerError frame) drops the connection, so the
// next attempt dials again.
func (c *conns) do(ctx context.Context, inst *accounting.Institution, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	conn, err := c.get(ctx, inst)
	if err != nil {
		return nil, err
	}
	resp, err := conn.Do(ctx, req)
	p := c.entry(inst.MSPID)
	p.mu.Lock()
	defer p.mu.Unlock()
	var re *peer.RemoteError
	switch {
	case err == nil, errors.As(err, &re) && re.Detail != nil:
		p.reachable.Store(true)
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up: not the provider's failure, keep the
		// connection. A deadline that passed without an answer drops it
		// (below): a provider restarted on the same address leaves a
		// connection that looks open but never answers, until QUIC's idle
		// timeout, and redialling costs one handshake.
	default:
		p.reachable.Store(false)
		if p.conn == conn {
			_ = conn.Close()
			p.conn = nil
		}
	}
	return resp, err
}

// reachable reports whether the last contact with msp succeeded.
func (c *conns) reachable(msp string) bool {
	c.mu.Lock()
	p := c.peers[msp]
	c.mu.Unlock()
	return p != nil && p.reachable.Load()
}

// limit records that msp accepts at most m items per request.
func (c *conns) limit(msp string, m int) { c.entry(msp).limit.Store(int64(m)) }

// maxItems returns what limit recorded for msp, or 0.
func (c *conns) maxItems(msp string) int {
	c.mu.Lock()
	p := c.peers[msp]
	c.mu.Unlock()
	if p == nil {
		return 0
	}
	return int(p.limit.Load())
}

// close closes every connection.
func (c *conns) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.peers {
		p.mu.Lock()
		if p.conn != nil {
			_ = p.conn.Close()
			p.conn = nil
		}
		p.mu.Unlock()
	}
}
