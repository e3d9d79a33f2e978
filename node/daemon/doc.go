// Package daemon is the RiskMesh node: it wires an institution's identity,
// its node.db, its way to the ledger, the registry cache, the QUIC peer
// server, the provider and requester sides, the business API and the
// metrics listener into one process that `riskmesh node` runs until a
// signal (docs/node.md).
//
// The wiring carries the guarantees that no single component can:
//
//   - Who gets in. The peer server admits the registry's active
//     institutions; the node hosting the embedded ledger also admits the
//     consortium file's members (and itself) for ledger calls only, so a new
//     member can register before it is on the registry; from a member's
//     first registration on only its registered certificate, while it is
//     active, reaches the relay (ledgerrelay.Registered, checked at the
//     handshake and on every call). A request other
//     than a ledger call from anyone the registry does not list as active is
//     refused, and the connections of an institution the registry shows
//     suspended are closed as soon as a refresh reveals it.
//   - Registration. An institution's node writes its endpoint, TLS
//     fingerprint, signing key and OPRF public keys to its registry record,
//     only what differs, retrying until the regulator has added it.
//   - Stopping. On a stop the API finishes its calls (bounded), the peer
//     server closes so nothing new is answered, and only then does the
//     outbox get a bounded time to flush; what remains is durable and
//     flushes after the next start.
//   - Key rotation. RotateKeys (the admin API) replaces a key in the
//     identity directory, registers it on the ledger, and only then puts
//     it in the keyring that every signature and TLS handshake reads (a new
//     certificate also redials the ledger host); the
//     ledger keeps the replaced key valid for what was made under it
//     (docs/operations.md, "Rotating keys and endpoints").
//   - Backups. Backup (the admin API) copies node.db and, on the ledger's
//     host, the embedded ledger from read transactions while the node
//     runs, names each copy only once it is complete and durable (the
//     ledger copy's log verified), and never replaces a file
//     (docs/operations.md, "Backups").
//
// Config is the wired form of node.yaml (FromConfig builds it from
// node/config, the one place where node.yaml's sections become component
// settings), so tests can run several nodes in one process.
package daemon
