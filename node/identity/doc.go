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
// Keys in a PKCS#11 token (token.go, tokenref.go, keystore.go): a
// Keystore places each new key in a file or in a token opened with
// OpenToken (github.com/ThalesGroup/crypto11 over miekg/pkcs11). The TLS
// and signing keys are then P-256 key pairs generated in the token, and
// tls.key / signing.key hold a reference to them (their CKA_ID and public
// key) in place of the key, so the rotations above work unchanged; a
// replaced key pair stays in the token until DiscardRetired. An OPRF key
// is stored wrapped by an AES-256 token key (AES-GCM in the token, the
// category as associated data) and unwrapped into memory by Load, since
// PKCS#11 offers no ristretto255 scalar multiplication. Load refuses a
// reference whose key is not in the token (ErrKeyMissing). The token also
// provides the key-encryption key of the node's data-at-rest keyring
// (Token.SealKEK, package seal). Which kind each key file holds is read
// from its PEM type, so a directory may mix files and token keys while
// they move into the token by rotation.
//
// What the package does not promise: ECDSA key generation draws from the
// operating system's generator whatever Reader is passed (Go 1.26 ignores
// custom readers for it unless GODEBUG=cryptocustomrand=1), and a token
// draws its own; the Reader is honoured for OPRF keys and certificate
// serial numbers. File keys are not encrypted at rest; protect the
// directory with file-system permissions or an encrypted volume, or keep
// the keys in a token. Rotating an OPRF key discards the key before the
// previous one.
package identity
