// Package apiclient is a Go client of a node's business and admin API
// (docs/api.md): dialing it over the unix socket or mutual TLS, errors an
// operator can act on instead of raw gRPC status text, the helpers a
// caller needs around the raw methods (a query's stream to its result,
// paging, transcripts by ledger entry, identifier files) and the text
// views that `riskmesh` prints. A business system can use it rather than
// write a gRPC client of its own.
package apiclient
