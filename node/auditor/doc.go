// Package auditor is the consortium's dispute service (docs/architecture.md,
// docs/audit.md): an institution node files a transcript it believes was
// answered wrongly; the service verifies it against the ledger with exactly
// the checks of `riskmesh audit verify` (package accounting/audit), decides
// (audit.Decide), signs the verdict and keeps the dispute.
//
// A verdict carries two signatures by the auditor's registered signing key
// (internal/ecsig): one over chaincode.EndorsementDigest(entry key, verdict),
// which the requester hands to the ledger's Reverse when the dispute is
// upheld, and one over audit.StatementDigest, which also binds the reason,
// the transcript's response digest and the time.
//
// Transport: gRPC (service riskmesh.v1.Auditor, proto/riskmesh/v1/audit.proto)
// over mutual TLS 1.3 with both certificates pinned by the fingerprints the
// ledger registry records (ServerTLS, ClientTLS); the caller's MSP id comes
// from its certificate, and only the transcript's requester may dispute it.
//
// Non-delivery (JudgeNonDelivery): a requester billed for an answer it
// never received names the entry instead of sending a transcript; the
// service asks the provider for the billed response over the peer protocol
// (Config.Redeliver, PeerRedeliver) and decides with
// audit.DecideNonDelivery: the provider must produce exactly the billed
// exchange, with a valid proof, or the charge is reversed.
//
// Live step not answered (JudgeLiveUnanswered): a requester names a billed
// live exchange and sends the homomorphic query it signed for it; the
// service asks the provider for the step it recorded (Config.RedeliverLive,
// PeerRedeliverLive) and decides with audit.DecideLiveUnanswered: the
// provider must show its receipt for a query the requester signed for that
// exchange, or the charge is reversed.
//
// Process: Run composes the standalone service `riskmesh audit serve` runs
// (dispute store, registry, keys followed across rotations, redelivery,
// gRPC) from a ledger the caller opened, so package main only parses flags.
//
// Store: the auditor's own bbolt file, buckets "auditor/disputes" (dispute
// id -> StoredDispute) and "auditor/byentry" (ledger entry key -> id), one
// dispute per billed entry, so the store is bounded by the ledger.
// What it holds is the transcript (blinded elements, evaluated elements,
// proof: no identifiers), the requester's claim text and the verdict.
//
// What it does not promise: it judges only what is cryptographically
// checkable. A label the requester believes wrong is rejected with that
// reason; list quality is the consortium's governance, not this service's.
package auditor
