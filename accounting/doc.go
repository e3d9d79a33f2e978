// Package accounting is the client side of the RiskMesh ledger: the Ledger
// interface the node and the operator tools use, the record types (aliases of
// package chaincode's, so both sides share one definition), the error model,
// and the embedded backend (the chaincode logic in-process over bbolt, with a
// hash-chained transaction log an auditor can verify).
//
// A Ledger value acts as one institution: its MSP identity is the caller of
// every transaction. The Fabric backend (package accounting/fabric) and the
// embedded backend both pass the conformance suite in accounting/ledgertest.
//
// Contract rejections are *Error values whose Unwrap returns one of the
// sentinel errors below, so errors.Is(err, ErrForbidden) works on both
// backends; transport failures are returned as they are.
//
// What it does not promise: the embedded backend is for one machine (tests,
// the demo); it is not replicated and its log proves only the order and
// content of its own transactions to someone who trusts its last hash.
package accounting
