// Package ecdh implements Diffie-Hellman private set intersection (ECDH-PSI)
// between two parties holding sets of similar size, as in docs/protocol/ecdh.md.
//
// The requester masks its items as H(x)^a, the responder re-masks them to
// H(x)^(ab) and sends its own items masked as H(y)^b in a random order; the
// requester raises those to a and compares. In the BothLearn mode the
// requester returns H(y)^(ba) so the responder can compare too.
//
// The group is ristretto255 (RFC 9496). Items are hashed to the group with
// hash_to_ristretto255 from RFC 9380 (expand_message_xmd with SHA-512 and the
// RFC 9496 one-way map), with a domain-separation tag that carries a digest of
// the session context, so masked values from one session are useless in
// another. Double-masked values are compared through short hashed keys in a map.
//
// The package produces and consumes messages (Request, Reply, Return), each
// with a canonical versioned encoding (see docs/protocol/ecdh.md); it does no
// networking.
//
// Reconciler is the form nodes use between them: the same protocol streamed
// in chunks (Chunk) for lists of up to MaxReconItems a side, each side's
// items sent in a fresh secret order, every exponentiation a side returns
// proved with a batched DLEQ proof (psi/dleq, batch-binding weights) against
// the key commitment it signed in the transcript header, and resumable from
// a Checkpoint and a set log after a crash or a dropped connection.
// VerifyAnswer lets an auditor check one answer without any secret. Secret exponents never leave their party and scalar
// multiplications with them are constant time; per-item work runs on all cores.
//
// What the single-shot protocol does not promise: security holds against
// semi-honest parties. A malicious peer cannot learn more than the sizes and the intersection, but it
// can make the other party's result wrong (substitute its input, drop or
// forge matches among the receiver's own items); malformed and identity
// points, wrong counts, foreign sessions and trailing bytes are rejected, but
// well-formed wrong points cannot be detected without zero-knowledge proofs,
// which this package does not have. Both parties learn each other's set size.
// In BothLearn the requester learns the result first and may withhold the
// last message. What the Reconciler adds against a malicious peer, and what
// such a peer can still do there (substitute its input, probe membership
// with points it cannot be asked to prove), is in docs/protocol/ecdh.md.
package ecdh
