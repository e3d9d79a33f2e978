// Package catalogpsi is RiskMesh's default look-up protocol, catalog PSI
// (docs/protocol/catalog.md): the RFC 9497 POPRF of package oprf, keyed per
// (category, period) by the public info "riskmesh/v1|<category>|<period>",
// combined with the encrypted retrieval catalog of package catalog.
//
// A provider evaluates its whole list once per period and publishes the
// catalog (its digest goes to the ledger). A requester blinds a batch of
// canonical identifiers, the provider answers with evaluated elements and one
// batched DLEQ proof, and the requester verifies the proof against the
// provider's registered key, finalises and looks every output up in the
// downloaded catalog. Proofs are made and accepted under psi/oprf's
// batch-binding rule; VerifyProof checks a transcript under the rule its
// header records, so transcripts made under RFC 9497's rule still audit. The provider learns only the batch size; the requester
// learns labels for the identifiers it asked about and nothing else about the
// list beyond its size.
//
// The package wires the two building blocks together and checks that a
// catalog belongs to the provider, key, category and period a query was made
// for; transport, transcripts and billing are the node's. It does not check
// that the key is the one on the ledger: callers pass the registered key,
// which NewRequester's additive blinding relies on (docs/protocol.md,
// "Blinding").
package catalogpsi
