package daemon

import (
	"context"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
)

// pinned admits exactly one certificate, as mspID.
func pinned(mspID string, fp peer.Fingerprint) peer.Authorizer {
	return peer.AuthorizerFunc(func(got [32]byte) (string, error) {
		if got != fp {
			return "", errWrongHost
		}
		return mspID, nil
	})
}

// DialLedgerHost returns a ledger acting as id through the relay of the node
// at endpoint that hosts the embedded ledger, whose certificate must have
// hostFP (as hostMSP). The connection is made on first use and remade after
// a failure or a Redial (the returned ledgerrelay.Conn), so this node starts
// while the host is down and reconnects when it restarts; close it with the
// Conn's Close. The
// regulator's admin commands use it with the regulator's own identity and
// node.
func DialLedgerHost(id *identity.Identity, endpoint, hostMSP string, hostFP peer.Fingerprint, pc peer.Config) (accounting.Ledger, *ledgerrelay.Conn) {
	if pc.GetCertificate == nil {
		pc.Certificate = id.Certificate
	}
	pc.Authorizer = pinned(hostMSP, hostFP)
	pc.Handler = nil
	conn := ledgerrelay.NewConn(func(ctx context.Context) (*peer.Client, error) { return peer.Dial(ctx, endpoint, pc) })
	return accounting.NewClient(ledgerrelay.NewInvoker(conn.Do)), conn
}
