// Package requester is the query execution of a RiskMesh node's requester
// side (docs/node-requester.md): it answers the business API's one-to-many
// queries by fanning a batch of identifiers out to every chosen provider at
// once over the node's connections to providers (node/outbound), against
// the verified catalogs the node's catalog mirror (node/mirror) holds.
//
// For each provider a query part is blinded (psi/catalogpsi), bound into a
// transcript header with a sequence number reserved durably beforehand
// (psi/transcript), signed as a purchase order, sent, and the answer's
// responder signature and batched DLEQ proof are checked against the keys
// the ledger registry holds before any result is used. A query part goes at
// once when no request to its provider is in flight; while one is, small
// concurrent queries to that provider are coalesced into one request (one
// transcript, one signature). A part may go live instead (live.go:
// homomorphic PSI against the provider's current list), whose concurrent
// parts coalesce the same way into one POPRF step and one homomorphic
// query. Queries, both sides' transcripts (blinded form
// only), sequence numbers and this node's unsettled spend live in the node's
// bbolt file, in buckets named "requester/...".
//
// A request that may have reached a provider when the query's deadline
// passed (its frame was written) is sent again, byte for byte, for a bounded
// time afterwards (late answers, late.go): a provider bills what it
// answers, and a late answer is verified and added to the query's stored
// record, marked as a late change. A request never written is never sent
// later.
//
// Reconciliation (reconcile.go) checks every ledger entry billed to this
// institution against the answers it verified: one it lacks is asked of the
// provider (redelivery of its journalled transcript), verified as an
// auditor would and recovered into the spend and the query, or else
// disputed for non-delivery (Config.NonDelivered).
//
// What it does not promise: a recovered answer's hits stay unknown (the
// blinds that open it are never kept after the query); identifiers are
// never stored or logged, so a persisted query cannot be
// re-run, only read; a provider whose catalog the mirror has not verified
// yet is not asked (its part is refused NOT_FOUND).
package requester
