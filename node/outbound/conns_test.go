package outbound

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// silentConn stands for a connection to a provider that went away without
// closing it: requests never get an answer.
type silentConn struct{ closed bool }

func (s *silentConn) Do(ctx context.Context, _ *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (s *silentConn) Peer() peer.Identity { return peer.Identity{MSPID: "BankB"} }
func (s *silentConn) Close() error        { s.closed = true; return nil }

// TestConnDroppedAfterDeadline: a request that ran into its deadline drops
// the connection, so the next one dials again instead of waiting on a
// connection nobody answers; a caller's cancellation keeps it.
func TestConnDroppedAfterDeadline(t *testing.T) {
	var dialled []*silentConn
	c := New(func(context.Context, string) (Conn, error) {
		s := &silentConn{}
		dialled = append(dialled, s)
		return s, nil
	}, time.Hour)
	inst := &accounting.Institution{MSPID: "BankB", Endpoint: "127.0.0.1:1"}

	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Do(cctx, inst, &riskmeshv1.PeerRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	if len(dialled) != 1 || dialled[0].closed {
		t.Fatalf("after a cancellation: %d dials, first closed %v; want the connection kept", len(dialled), dialled[0].closed)
	}

	dctx, stop := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer stop()
	if _, err := c.Do(dctx, inst, &riskmeshv1.PeerRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request past its deadline: %v", err)
	}
	if !dialled[0].closed || c.Reachable("BankB") {
		t.Fatalf("after a deadline: closed %v, reachable %v; want dropped and unreachable", dialled[0].closed, c.Reachable("BankB"))
	}
	if _, err := c.get(t.Context(), inst); err != nil || len(dialled) != 2 {
		t.Fatalf("next request: err %v, %d dials; want a fresh dial", err, len(dialled))
	}
}
