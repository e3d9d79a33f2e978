// Package provider is the provider side of a RiskMesh node
// (docs/node-provider.md): it builds and publishes a catalog per category and
// period from the institution's lists, serves catalog metadata and bytes to
// peers, and answers catalog-PSI evaluate requests, journaling an accounting
// entry for every answer in the same bbolt transaction as its transcript.
//
// The checks an evaluate request goes through, their order and their error
// codes, the exactly-once argument and the retention rules are written out
// in docs/node-provider.md. In short: the request is parsed and bound to the
// authenticated peer, its signature verified against the registered key,
// looked up in the replay index (an identical retry gets the stored answer
// again and is not billed again), checked against the period, the key id and
// the requester's standing, then evaluated; the signed transcript, the
// replay index entry and the outbox entry are written in one transaction
// whose log record is durable (fdatasync) before the answer leaves
// (journal.go).
//
// OPRF key rotation: each category has a current key, the one the registry
// announces and the catalogs of periods not built yet are built under, and
// optionally a previous one (Config.PreviousKeys, loaded by node/identity).
// A published catalog is fixed on the ledger with the key it was built
// under, and requesters and auditors verify a period's proofs against that
// record, so a catalog is served, and its period's requests answered, with
// exactly that key: the current period's and, through its grace window, the
// previous period's. RotateKey swaps the current key in a running node and
// registers it; the catalogs already served keep their key and the next
// period's is built under the new one. After a restart, a published catalog
// whose key is neither current nor previous fails its period
// (ErrKeyNotHeld) rather than being rebuilt into a conflict, and an
// unpublished catalog file built under another key is rebuilt. A request
// whose key id is not its period's catalog key is refused STALE. Since
// only one previous key is kept, a category is rotated at most once until
// the replaced key stops backing a catalog requesters may query:
// CheckRotate says when (ErrRotateTooSoon before).
//
// Each catalog is published with the statistics the provider declares about
// it (entries, additions and removals since the previous period's catalog,
// mean age: catalogstats.go, docs/quality.md). The ledger fixes them with the
// digest, so a published catalog is served as it is and never published
// again; one lost from disk is served again only if its rebuild reproduces
// the published digest (ErrRebuiltDiffers).
//
// Every answer it bills can be produced again: Handle serves a redeliver
// request with the journalled transcript, to the exchange's requester or an
// active auditor that is no party (redeliver.go), so reconciliation and
// non-delivery disputes can hold it to its bills.
//
// What it does not promise: a catalog digest is immutable on the ledger for
// its period, so a list refreshed mid-period is served from the next
// period's catalog. It serves catalog PSI only (not ECDH-PSI). Answers are
// one frame each (node/peer), so catalog downloads are one chunk per
// request and the requester walks the offsets.
package provider
