// Package audit checks a transcript against the ledger entry that billed it
// (DESIGN.md section 7, docs/audit.md): the one verification both
// `riskmesh audit verify` and the auditor service run.
//
// Verify recomputes every fact from the transcript file and the ledger and
// names each check (the Check* constants): the entry exists under the key the
// header derives, the stored header and body hashes are the transcript's, both
// signatures verify against the parties' registered keys, the header's key id
// is the provider's registered OPRF key for the category, the batched DLEQ
// proof verifies against that key and the period tweak
// "riskmesh/v1|<category>|<period>", the amount is count x the period's price,
// and whether the charge was reversed. Decide turns a Report into a dispute
// verdict: upheld only when the transcript is exactly what was billed and the
// provider's answer fails its proof (or the amount is wrong).
//
// Transcripts hold blinded elements, evaluated elements and proofs, never
// identifiers: nothing here can learn what the requester asked about.
//
// What it does not promise: the ledger keeps only each institution's current
// keys. A signature that no longer verifies against a rotated signing key
// passes when it is byte-identical to the one stored with the entry (the
// chaincode verified it against the key registered at recording time); an
// OPRF key rotated since the exchange cannot be checked at all, and the
// oprf-key check fails naming both key ids. ECDH-PSI transcripts carry no
// proof, so only their billing facts are checked.
package audit
