// Package audit checks a transcript against the ledger entry that billed it
// (docs/audit.md): the one verification both
// `riskmesh audit verify` and the auditor service run.
//
// Verify recomputes every fact from the transcript file and the ledger and
// names each check (the Check* constants): the entry exists under the key the
// header derives, the stored header and body hashes are the transcript's, both
// signatures verify against a signing key each party registered for the
// header's period, the header's key id is the OPRF key the provider published
// with its catalog for that category and period, the batched DLEQ proof
// verifies against that key and the period tweak
// "riskmesh/v1|<category>|<period>" under the proof rule the header records
// (the batch-binding rule for new transcripts, RFC 9497's for those made
// before it, which proves less: see Decide), the amount is count x the period's price,
// and whether the charge was reversed. Decide turns a Report into a dispute
// verdict: upheld only when the transcript is exactly what was billed and the
// provider's answer fails its proof (or the amount is wrong).
// DecideNonDelivery judges a claim that a billed answer never arrived, from
// what the provider produced when the auditor asked: upheld unless it is
// exactly the billed exchange (Billed) with a valid proof.
//
// Transcripts hold blinded elements, evaluated elements and proofs, never
// identifiers: nothing here can learn what the requester asked about.
//
// Key rotation does not break verification: the ledger keeps replaced
// signing keys with the periods they cover, and each catalog record keeps the
// OPRF key it was published under. Only a signing key dropped from that
// bounded history (chaincode.MaxPastSigningKeys, after its last period was
// snapshotted) can no longer be checked: the signature check then fails
// saying so. Single-shot ECDH-PSI transcripts carry no proof, so only their
// billing facts are checked. DecideReconciliation decides a dispute over one
// answer of a streamed, verifiable reconciliation (psi/ecdh) from its
// transcript and the two chunks concerned.
package audit
