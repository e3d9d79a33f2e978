// Package catalog is the provider's encrypted retrieval catalog for the
// RiskMesh catalog PSI (format and security argument
// in docs/protocol/catalog.md).
//
// A provider evaluates the OPRF (RFC 9497, psi/oprf) on every identifier of
// its list for one (category, period) and adds each PRF output with the
// item's Label to a Builder. Build produces a Catalog: a binary fuse
// retrieval structure (Graf and Lemire 2022; arity 3 or 4, whichever is
// smaller for the item count) whose slots are 20-byte values, so that the
// XOR of an item's slots is its tag || encrypted label. Everything an item
// contributes is derived from its PRF output under named, versioned labels
// (DomainItemKeys, DomainTag): the slot-position hash, a one-time pad for
// the 16-byte label and the key of a 32-bit tag over the ciphertext. A
// requester that obtained the PRF output of one of its own identifiers calls
// Lookup: a member yields its label; anything else fails the tag check
// except with probability 2^-32.
//
// Encode writes a deterministic, versioned byte stream (header, then slots)
// and returns its SHA-256 digest under DomainDigest, which the provider
// publishes on the ledger; Decode reads it back with explicit limits
// (DecodeConfig) and checks the digest. Open does the same for a file but
// maps it read-only where the platform can, so that a requester holding many
// catalogs keeps their slots out of the heap, and reads in memory only the
// catalogs that fit in a resident budget, the others from the file
// (SetResidentBudget; docs/protocol/catalog.md, "What is resident"), where
// LookupAll reads the slots of a batch of look-ups with few system calls
// (io_uring on Linux).
//
// What the package does not promise: it does not evaluate the OPRF or check
// that PRF outputs came from the key named in Meta (the requester checks the
// metadata against the ledger); it hides labels only from parties that lack
// the PRF output, and the item count is public and, in a decoded catalog,
// only the provider's claim, bounded by the slot count (Catalog.Len);
// Build's running time is not constant (it depends on the items and the
// seed), which is harmless because only the provider builds; a 64-bit position-hash collision between two
// different PRF outputs (probability about n^2/2^65) makes Build fail with
// ErrConflict rather than silently dropping an item.
package catalog
