// Package fabric is the Hyperledger Fabric backend of accounting.Ledger: it
// calls the riskmesh chaincode through the Fabric Gateway of the
// institution's own peer (github.com/hyperledger/fabric-gateway v1.7.1,
// gRPC over TLS), as the institution's MSP identity.
//
// A submission is endorse → submit to the orderer → wait for the commit
// status, each phase under its own deadline. Retries are deliberately
// narrow: a transaction that failed validation with MVCC_READ_CONFLICT or
// PHANTOM_READ_CONFLICT is endorsed again as a new transaction; a gateway
// that answers Unavailable (no peer or orderer reachable) is retried, and so
// is an endorsement that the organisation's own peer gave but too few other
// peers matched (a peer one block behind: read-your-writes across peers is
// not guaranteed by Fabric); the
// same signed transaction is resubmitted, and its status asked again, when
// the orderer or the status service is unavailable. Nothing else is retried:
// not a chaincode rejection, not an endorsement-policy failure, not a
// timeout. All retries back off exponentially and are bounded. In-flight
// submissions are bounded by a semaphore so that a burst cannot exhaust the
// peer's gateway concurrency limit.
//
// Contract rejections come back as *accounting.Error, exactly as from the
// embedded backend (errors.Is(err, accounting.ErrForbidden) works), with the
// transaction id and the Fabric failure (*TxError) in their chain. Fabric
// failures that are not contract rejections are *TxError values carrying the
// transaction id, the phase, the gRPC code and, for commit failures, the
// validation code.
//
// It does not promise exactly-once submission on its own: when a deadline
// expires after the orderer accepted a transaction, the transaction may
// still commit. The contract's idempotent record keys make resubmission by
// the caller (the node's outbox) safe.
package fabric
