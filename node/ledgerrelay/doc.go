// Package ledgerrelay carries ledger contract calls from institution nodes
// to the one node that hosts the embedded ledger (the regulator's), over the
// peer transport's mutual-TLS QUIC connections (docs/protocol/wire.md,
// "Ledger relay").
//
// With the embedded ledger only one process may open the ledger file. Every
// other node gets its accounting.Ledger as
//
//	conn := ledgerrelay.NewConn(dialHost) // redials after failures
//	ledger := accounting.NewClient(ledgerrelay.NewInvoker(conn.Do))
//
// and the hosting node answers PeerRequest.ledger_invoke with the Handler
// from NewHandler (Handler.Route puts it in front of the node's other
// request handling). An institution's node authenticates the host by a
// certificate fingerprint pinned in its configuration: its registry view is
// read through this connection, so it cannot vouch for the host itself. The wire carries the contract's own JSON arguments and
// results (package chaincode), so the relayed ledger behaves like the
// embedded one, with one difference that matters: the caller's identity is
// never taken from the message. The handler runs each call as the MSP id the
// peer transport authenticated from the caller's TLS certificate, so an
// institution can act only as itself, and the contract's access rules
// (regulator-only functions, own-record updates) apply unchanged. The host
// admits a caller with an Admission; Registered, the daemon's, lets the
// ledger's registry decide on every call: once an institution has
// registered a certificate only that one is served, and only while the
// institution is active, whatever the consortium file lists.
//
// Errors keep their meaning across the relay: a contract rejection comes
// back as the *accounting.Error with the same code, and anything that kept
// the call from a verdict (transport failure, relay overloaded, ledger
// closed) wraps ErrUnreachable, so a caller can tell "rejected" (do not
// retry) from "not known to have run" (retry; the contract's idempotent
// Record makes that safe for accounting entries).
//
// The relay is for the embedded ledger. With the Fabric backend every node
// has its own gateway connection and needs no relay.
package ledgerrelay
