package ledgerrelay

import (
	"context"
	"errors"
	"sync"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// ErrConnClosed is a call on a Conn after Close.
var ErrConnClosed = errors.New("ledgerrelay: connection to the ledger host closed")

// Conn is an institution node's connection to the ledger host. It dials on
// first use and again after a connection-level failure, so the node's
// ledger comes back by itself when the host restarts. Its Do method is the
// Doer for NewInvoker. It is safe for concurrent use.
type Conn struct {
	dial func(ctx context.Context) (*peer.Client, error)

	mu     sync.Mutex // held while dialling: concurrent callers wait for one dial
	cur    *hostConn
	closed bool
}

// hostConn is one dialled connection and the calls still using it, so a
// failed connection is closed only after its other calls have finished.
type hostConn struct {
	client   *peer.Client
	inflight int
	failed   bool // retired: no new calls
	shut     bool // client closed
}

func (hc *hostConn) shutdown() error {
	if hc.shut {
		return nil
	}
	hc.shut = true
	return hc.client.Close()
}

// NewConn returns a Conn that dials the host with dial, typically
// peer.Dial to the host's address with an Authorizer that pins the host's
// certificate fingerprint (from the node's configuration: the registry the
// node would otherwise consult is read through this very connection).
func NewConn(dial func(ctx context.Context) (*peer.Client, error)) *Conn {
	return &Conn{dial: dial}
}

// Do sends req to the host, dialling first if there is no healthy
// connection. A PeerError answer leaves the connection in use; any other
// failure (not caused by ctx ending) retires it, and the next call dials
// again. Do itself never retries: whether a call may be repeated is the
// caller's decision.
func (c *Conn) Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	hc, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := hc.client.Do(ctx, req)
	c.release(hc, err != nil && ctx.Err() == nil && !answered(err))
	return resp, err
}

// answered reports whether err is the host's PeerError answer, which says
// nothing bad about the connection.
func answered(err error) bool {
	var re *peer.RemoteError
	return errors.As(err, &re) && re.Detail != nil
}

func (c *Conn) acquire(ctx context.Context) (*hostConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrConnClosed
	}
	if c.cur == nil {
		client, err := c.dial(ctx)
		if err != nil {
			return nil, err
		}
		c.cur = &hostConn{client: client}
	}
	c.cur.inflight++
	return c.cur, nil
}

func (c *Conn) release(hc *hostConn, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc.inflight--
	if failed && !hc.failed {
		hc.failed = true
		if c.cur == hc {
			c.cur = nil
		}
	}
	if hc.failed && hc.inflight == 0 {
		_ = hc.shutdown()
	}
}

// Redial retires the current connection: calls in flight finish on it, the
// next call dials again. A node calls it when its own certificate changed,
// since the host serves a connection only while its certificate is the one
// the ledger's registry names (Registered).
func (c *Conn) Redial() {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc := c.cur
	if hc == nil {
		return
	}
	c.cur = nil
	hc.failed = true
	if hc.inflight == 0 {
		_ = hc.shutdown()
	}
}

// Close closes the connection; calls in flight fail and later ones return
// ErrConnClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cur == nil {
		return nil
	}
	hc := c.cur
	c.cur = nil
	hc.failed = true
	return hc.shutdown()
}
