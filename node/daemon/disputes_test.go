package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// An auditor that is not (yet) on the registry fails the filing with
// dispute.ErrNoAuditor, which Auto keeps pending, and leaves no connection
// behind: the next dispute dials again.
func TestLazyAuditorBeforeOnboarding(t *testing.T) {
	id := testIdentity(t, "Bank1MSP")
	_, bank := ledgerAs(t, id.MSPID)
	a := &lazyAuditor{ledger: bank, msp: "AuditorMSP", addr: "127.0.0.1:1", cert: func() *tls.Certificate { return &id.Certificate }}
	for range 2 {
		_, err := a.FileDispute(context.Background(), &riskmeshv1.FileDisputeRequest{})
		if !errors.Is(err, dispute.ErrNoAuditor) {
			t.Fatalf("FileDispute = %v, want ErrNoAuditor", err)
		}
		if a.conn != nil {
			t.Fatal("a failed dial left a connection")
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
