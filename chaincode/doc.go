// Package chaincode is the RiskMesh consortium contract: the institution
// registry, consortium prices and overdraft limits, the accounting entries
// that bill each PSI exchange, each requester's exposure while a period is
// open, reversals endorsed by an auditor, and the period state machine
// (rollover, close once the providers' reported backlogs drained, settle,
// snapshot, mark paid). It follows docs/ledger.md and docs/architecture.md
// (its accounting).
//
// The logic is written against the small State interface (get, put, range,
// caller MSP id, transaction id, event), so the same code runs inside
// Hyperledger Fabric (package chaincode/fabriccc adapts the contract API's
// transaction context) and inside the embedded ledger of package accounting
// (an adapter over a bbolt transaction). Every function takes one JSON
// argument and returns JSON, so both backends share one wire format.
//
// Errors are *Error values with a stable Code; their message form
// "riskmesh: <code>: <detail>" survives Fabric's string-only error path and
// is parsed back by ParseError.
//
// The package verifies entries against psi/transcript: the chain must bill
// exactly what the requester signed, so it parses the signed header and
// recomputes both signed digests itself instead of trusting a submitted
// amount or count.
//
// What it does not promise: it does not check a transcript's PSI elements or
// proof (it sees only their hashes; auditing does that), and it keeps only the
// current transcript-signing key of an institution, so entries signed with a
// rotated-out key must be recorded before the rotation.
package chaincode
