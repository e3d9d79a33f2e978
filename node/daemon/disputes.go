package daemon

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// DisputeConfig turns on automatic disputes on a requester node: every
// answer whose proof fails is filed with the consortium's auditor service
// and, when upheld, reversed on the ledger (node/dispute, docs/audit.md).
type DisputeConfig struct {
	// AuditorMSP is the auditor institution whose verdicts are accepted;
	// its TLS fingerprint is read from the ledger registry.
	AuditorMSP string
	// AuditorAddress is the auditor service's gRPC address (host:port).
	AuditorAddress string
	// Retry is the first wait before filing a pending dispute again
	// (default: node/dispute's, 30 s).
	Retry time.Duration
}

// lazyAuditor connects to the auditor on the first dispute rather than at
// start, because dispute.Dial reads the auditor's registry record: the
// ledger may be down and the auditor not yet onboarded when the node
// starts. A failed dial is retried on the next dispute (Auto keeps the
// dispute pending meanwhile).
type lazyAuditor struct {
	ledger dispute.Ledger
	msp    string
	addr   string
	cert   func() *tls.Certificate // the node's current one, read at each dial

	mu   sync.Mutex
	conn *grpc.ClientConn
}

var _ dispute.Filer = (*lazyAuditor)(nil)

func (a *lazyAuditor) FileDispute(ctx context.Context, in *riskmeshv1.FileDisputeRequest, opts ...grpc.CallOption) (*riskmeshv1.FileDisputeResponse, error) {
	conn, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	return riskmeshv1.NewAuditorClient(conn).FileDispute(ctx, in, opts...)
}

func (a *lazyAuditor) connect(ctx context.Context) (*grpc.ClientConn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		conn, err := dispute.Dial(ctx, a.ledger, a.msp, a.addr, *a.cert())
		if err != nil {
			return nil, err
		}
		a.conn = conn
	}
	return a.conn, nil
}

// redial closes the connection, if one was made, so the next dispute dials
// again: gRPC would otherwise reconnect with the certificate it was dialled
// with, which a TLS rotation replaced.
func (a *lazyAuditor) redial() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil {
		_ = a.conn.Close()
		a.conn = nil
	}
}

// Close closes the connection, if one was made.
func (a *lazyAuditor) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		return nil
	}
	return a.conn.Close()
}
