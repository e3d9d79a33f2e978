// Package identity keeps an institution's key material on disk and loads it
// for the node (docs/operations.md): the TLS certificate and key the QUIC
// peer transport presents (the ledger registry pins the certificate's SHA-256
// fingerprint), the P-256 key that signs transcripts (package ecsig), and one
// RFC 9497 POPRF private key per category the institution provides (package
// oprf).
//
// Everything lives in one directory, created 0700, as PEM files:
//
//	tls.crt                       CERTIFICATE: self-signed ECDSA P-256, subject CN = MSP id
//	tls.key                       PRIVATE KEY (PKCS #8), 0600
//	signing.key                   PRIVATE KEY (PKCS #8), 0600
//	signing.pub                   PUBLIC KEY (PKIX): what the consortium file and the registry carry
//	oprf-<category>.key           RISKMESH OPRF PRIVATE KEY (32-byte scalar), 0600
//	oprf-<category>.key.previous  the key the last RotateOPRFKey replaced, same format, 0600
//
// The public files (tls.crt, signing.pub) are all another party needs to
// admit the institution: ReadMember builds a consortium Member from them
// without opening a private key, so an institution can hand them over alone.
//
// Load refuses a private key file that group or others may access, and every
// file read is bounded (MaxFileSize) before it is parsed. Files are written
// atomically (temporary file, fsync, rename), so a crash leaves either the old
// key or the new one, never half of one. Every key can be rotated
// (RotateOPRFKey, RotateSigningKey, RotateTLSCertificate); a rotation that
// replaces two files has a commit point, and Load finishes or discards one
// a crash interrupted, so the files on disk always match.
//
// OPRF key rotation: each published catalog is fixed on the ledger with the
// OPRF key it was built under, and requesters and auditors verify a
// period's proofs against that key. RotateOPRFKey therefore keeps the key
// it replaces as the category's previous key (PreviousOPRFKeys), which the
// node keeps answering the already published catalogs with, while the new
// key, registered on the ledger, builds the catalogs of the following
// periods. One previous key is kept per category, so rotate a category at
// most once per period (node/provider's CheckRotate tells when the key a
// second rotation would drop no longer backs a catalog in use).
//
// What the package does not promise: ECDSA key generation draws from the
// operating system's generator whatever Reader is passed (Go 1.26 ignores
// custom readers for it unless GODEBUG=cryptocustomrand=1); the Reader is
// honoured for OPRF keys and certificate serial numbers. It does not encrypt
// keys at rest; protect the directory with file-system permissions or an
// encrypted volume. Rotating an OPRF key discards the key before the
// previous one.
package identity
