// Package registry keeps one node's cached view of the ledger's registry:
// institutions, accounts, the current period and its prices, and the
// catalog digests providers publish.
//
// A node consults the registry on every connection (which certificate is
// which active institution), every fan-out (which providers serve a
// category, at which endpoint, with which OPRF key) and every answer (is the
// requester flagged over its limit). Asking the ledger each time would make
// the ledger a bottleneck and take the whole network down with it; instead a
// Directory refreshes an immutable View in the background and swaps it
// atomically. When the ledger is unreachable the last View stays in force
// (stale but known) and LastError reports why, so the network degrades
// instead of stopping.
//
// The registry promises freshness only up to the refresh interval: a
// suspension takes effect on this node at the next refresh. Callers that
// must act at once (peer.Server.Revoke) watch Changes.
//
// A view never lets one institution take over another's credential: a TLS
// fingerprint or key that two records hold is trusted to neither (Conflict).
package registry
