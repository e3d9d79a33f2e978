// Package seal encrypts what a node keeps at rest (docs/threat-model.md,
// "Data at rest"): one random 256-bit data key per data directory, kept in
// a keyring file wrapped by a key-encryption key (KEK), and XChaCha20-
// Poly1305 (draft-irtf-cfrg-xchacha) under it with random 192-bit nonces.
//
// Every record is bound to its location: the associated data is
//
//	adLabel || data key id (8 bytes) || uint16 length || location
//
// so a record copied to another location (another source's file, another
// bucket key) does not open. Locations are chosen by the caller and must
// name the record's place, e.g. "lists/last-good/<source>".
//
// A record (Keyring.Seal) is
//
//	version (1) | data key id (8) | nonce (24) | ciphertext and tag
//
// A stream (Keyring.NewWriter, for backups) follows the STREAM
// construction (Hoang, Reyhanitabar, Rogaway, Vizár, 2015), as age does:
//
//	version (2) | data key id (8) | nonce prefix (16) | chunks
//
// each chunk is up to ChunkSize bytes sealed with the nonce
// prefix || 7-byte big-endian counter || final flag (1 on the last chunk,
// 0 otherwise), so reordered, dropped or truncated chunks do not open.
//
// The keyring file (Create, Open) is
//
//	keyringMagic | KEK kind (1) | data key id (8) | uint16 length | wrapped data key
//
// where the wrapped data key is the KEK's own encoding (PassphraseKEK:
// its Argon2id salt and parameters, a nonce and the ciphertext; a token
// KEK from node/identity: the token key's CKA_ID, a nonce and the
// ciphertext). Rotating the KEK (Rewrap) rewrites only this file: the data
// key, and so every sealed record, stays as it is. A KEK that does not
// unwrap the data key (lost token key, wrong passphrase) is ErrKEK, and
// the node refuses to start rather than start without its data.
//
// What the package does not promise: it protects data on a copied disk or
// backup, not from a running node's memory or from whoever holds the KEK.
// Record lengths are not hidden.
package seal
