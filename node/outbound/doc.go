// Package outbound keeps a node's connections to the providers it asks:
// one QUIC connection (node/peer) per provider, dialled at the endpoint the
// registry lists, checked to be that provider's node, and redialled after a
// transport failure or an endpoint change.
//
// It is its own package because two parts of the requester side share it:
// the catalog mirror (node/mirror) downloads catalogs over it and query
// execution (node/requester) sends evaluations over it, and a provider
// should see one connection from a requester, not one per part
// (docs/node-requester.md, "Connections").
//
// What it does not promise: it does not retry; a request that fails is the
// caller's to send again. A failure before the request was written is a
// *NotSentError, so the caller knows the provider cannot have billed it.
package outbound
