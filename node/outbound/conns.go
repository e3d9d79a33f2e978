package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// ErrWrongPeer is a provider endpoint answered by another institution.
var ErrWrongPeer = errors.New("outbound: endpoint is another institution's node")

// NotSentError is a failure before the request was written: dialling the
// provider failed or reached another institution. The provider cannot have
// seen, answered or billed the request.
type NotSentError struct{ Err error }

func (e *NotSentError) Error() string { return e.Err.Error() }
func (e *NotSentError) Unwrap() error { return e.Err }

// Conn is one connection to a provider's node; *peer.Client implements it.
type Conn interface {
	Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)
	Peer() peer.Identity
	Close() error
}

var _ Conn = (*peer.Client)(nil)

// Dialer connects to a provider's node at the endpoint the registry lists.
// Conns checks that the peer it reached is the provider it meant.
type Dialer func(ctx context.Context, endpoint string) (Conn, error)

// PeerDialer returns the Dialer of the QUIC peer transport with cfg (this
// node's certificate and the registry's Authorizer).
func PeerDialer(cfg peer.Config) Dialer {
	return func(ctx context.Context, endpoint string) (Conn, error) {
		c, err := peer.Dial(ctx, endpoint, cfg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// DefaultDialTimeout bounds a dial when New is given none.
const DefaultDialTimeout = 15 * time.Second

// Defaults of the catalog mirror and of query execution for their requests
// over these connections: both read them from the same node.yaml keys
// (requester.phase_timeout, retry_backoff, max_retry_backoff), so they have
// one home here.
const (
	DefaultPhaseTimeout    = 15 * time.Second
	DefaultRetryBackoff    = 50 * time.Millisecond
	DefaultMaxRetryBackoff = 2 * time.Second
)

// Conns keeps one connection per provider, reused by every request to it
// and redialled after a transport failure or an endpoint change. It is
// safe for concurrent use.
type Conns struct {
	dial        Dialer
	dialTimeout time.Duration

	mu    sync.Mutex
	peers map[string]*providerConn
}

// providerConn serialises dialling per provider: concurrent requests wait
// for one handshake instead of racing several.
type providerConn struct {
	mu        sync.Mutex
	conn      Conn
	endpoint  string
	reachable atomic.Bool // the last dial or request reached the provider
}

// New returns connections made with dial, each dial bounded by dialTimeout
// (DefaultDialTimeout if zero).
func New(dial Dialer, dialTimeout time.Duration) *Conns {
	return &Conns{dial: dial, dialTimeout: cmp.Or(dialTimeout, DefaultDialTimeout), peers: make(map[string]*providerConn)}
}

func (c *Conns) entry(msp string) *providerConn {
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
// there is none yet. Its errors are *NotSentError.
func (c *Conns) get(ctx context.Context, inst *accounting.Institution) (Conn, error) {
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
	dctx, cancel := context.WithTimeout(ctx, c.dialTimeout)
	defer cancel()
	conn, err := c.dial(dctx, inst.Endpoint)
	if err != nil {
		p.reachable.Store(false)
		return nil, &NotSentError{fmt.Errorf("dial %s: %w", inst.MSPID, err)}
	}
	if got := conn.Peer().MSPID; got != inst.MSPID {
		_ = conn.Close()
		p.reachable.Store(false)
		return nil, &NotSentError{fmt.Errorf("%w: %s's endpoint answered as %s", ErrWrongPeer, inst.MSPID, got)}
	}
	p.conn, p.endpoint = conn, inst.Endpoint
	p.reachable.Store(true)
	return conn, nil
}

// Do sends req to inst. A failure that is not the provider's own refusal
// (a *peer.RemoteError from a PeerError frame) drops the connection, so the
// next attempt dials again.
func (c *Conns) Do(ctx context.Context, inst *accounting.Institution, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
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

// Reachable reports whether the last contact with msp succeeded.
func (c *Conns) Reachable(msp string) bool {
	c.mu.Lock()
	p := c.peers[msp]
	c.mu.Unlock()
	return p != nil && p.reachable.Load()
}

// Close closes every connection. A later request dials again.
func (c *Conns) Close() {
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
