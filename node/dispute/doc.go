// Package dispute is the requester's side of a dispute (docs/architecture.md,
// docs/audit.md): it files a transcript with the consortium's auditor
// service (node/auditor), checks the signed verdict against the auditor's
// registered signing key, and, when the dispute is upheld, submits the
// ledger's Reverse with the auditor's endorsement so that settlement does
// not charge the requester for the bad answer.
//
// The auditor is reached over gRPC with mutual TLS, its certificate pinned by
// the fingerprint in its ledger registry record (Dial). Only the transcript
// travels: blinded elements, evaluated elements, the proof and the
// signatures, never identifiers.
//
// Non-delivery disputes (Client.NonDelivery, Auto.EnqueueNonDelivery)
// name a billed entry whose answer never arrived instead of a transcript;
// the auditor asks the provider for it, and a rejection returns the answer
// the provider produced (Auto.Produced). Live disputes
// (Client.LiveUnanswered, Auto.LiveUnanswered) name a billed live exchange
// and carry the homomorphic query this node signed for it, which the
// provider never answered; a rejection returns the provider's receipt.
//
// Reconciliation disputes (Auto.EnqueueReconciliation, docs/reconciliation.md,
// "Disputes") carry an audit.ReconDispute in place of a transcript: the
// reconciliation's transcript, the chunk this node sent and the responder's
// answer it refused. They are queued, filed and shown like catalog ones.
//
// What it does not promise: an upheld verdict can only be turned into a
// reversal until the entry's period is snapshotted (the ledger refuses later
// ones), and a dispute filed before the provider has recorded its entry is
// rejected for lack of an entry; Client.Dispute reports that (Pending) so a
// caller can file again later.
package dispute
