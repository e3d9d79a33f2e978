// Package peer is the node-to-node transport of RiskMesh: QUIC (RFC 9000)
// with mutual TLS 1.3 (RFC 9001, RFC 8446), ALPN "riskmesh/1", one request
// per stream carried in length-prefixed protobuf frames as specified in
// docs/protocol/wire.md. docs/peer-transport.md lists its guarantees,
// limits and defaults.
//
// A peer is identified by the SHA-256 fingerprint of its TLS leaf
// certificate, which an injected Authorizer (the ledger registry: active
// institutions only) maps to an MSP id during the handshake; unknown peers
// never get a stream. The server bounds every frame before allocating,
// limits each peer's concurrent streams and request rate, and puts a
// deadline on every phase.
//
// What it does not promise: it checks who is talking, not what they say.
// Request bodies go to the Handler as decoded protobuf messages whose
// cryptographic payloads are still opaque bytes for the psi decoders to
// check. Certificates are pinned by fingerprint, not validated against a CA,
// so revocation is the registry's job (Server.Revoke). A response is one
// frame: multi-frame exchanges (catalog chunks, ECDH-PSI BothLearn) are not
// served yet.
package peer
