// Package nodetest holds the node's integration tests: a regulator and
// three institutions as separate `riskmesh node` processes on loopback,
// with identities made by `riskmesh init`, lists from PostgreSQL
// (internal/pgtest), CSV and NDJSON files, the ledger administered with
// `riskmesh ledger`, and queries through the business API (docs/node.md).
//
// The embedded-ledger variant runs in the ordinary test suite (skipped
// with -short); the Fabric variant runs under RISKMESH_FABRIC=1.
package nodetest
