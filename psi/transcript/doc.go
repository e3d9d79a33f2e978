// Package transcript is the canonical record of one RiskMesh PSI exchange and
// the digests both parties sign (docs/protocol/transcript.md).
//
// A transcript is a Header (who asked whom, for what, how many items), a
// Request (the requester's blinded or masked elements) and a Response (the
// responder's evaluated elements, the batched DLEQ proof for the catalog OPRF,
// and for ECDH-PSI the responder's own masked elements). Every part has one
// canonical encoding built with golang.org/x/crypto/cryptobyte: fixed-width
// big-endian integers and length-prefixed strings, so equal values always
// encode to equal bytes and parsers reject trailing bytes, unknown versions
// and protocols, element-size mismatches and counts that disagree with the
// header. Parsers check every bound (MaxItems, MaxCategoryLen, MaxPartyLen,
// ...) before allocating.
//
// Digests (SHA-256, each with a length-prefixed, versioned label):
//
//	requestHash    = H(label(LabelRequest)        || E(request))
//	requestDigest  = H(label(LabelRequestDigest)  || E(header) || requestHash)
//	responseHash   = H(label(LabelResponse)       || E(response))
//	responseDigest = H(label(LabelResponseDigest) || requestDigest || responseHash)
//
// where label(s) is one length byte followed by s. The requester signs
// requestDigest before sending (a purchase order: the responder cannot bill
// more items than were asked); the responder signs responseDigest (a
// receipt). Bodies are hashed separately so that a ledger entry can carry the
// encoded header and the two 32-byte body hashes instead of the elements,
// and the chaincode can still recompute both signed digests.
//
// The header's version says which rule the catalog-OPRF answer's batched
// proof follows (ProofRule): version 3, the binding rule with 128-bit
// weights, for every new catalog and live exchange; version 2, the binding
// rule with full-size weights, which providers still answer and ECDH-PSI
// headers keep; version 1, RFC 9497's rule, for transcripts made before
// both. Old versions still parse, re-encode byte for byte and keep their
// digests. The requester
// signs the version with the header (docs/protocol/transcript.md).
//
// Signatures are ECDSA P-256 over the 32-byte digest, DER, low-S, via
// internal/ecsig (the scheme Fabric MSP identities use).
//
// What the package does not promise: it treats elements and proofs as opaque
// bytes of the suite's fixed size; it does not check that they are valid group
// elements or that the proof verifies (that is psi/oprf's and psi/ecdh's job),
// and it does not enforce sequence-number uniqueness (the ledger does).
package transcript
