// Package provider is the provider side of a RiskMesh node (DESIGN.md
// sections 5.1 and 6): it builds and publishes a catalog per category and
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
// replay index entry and the outbox entry are committed (fsync) in one
// transaction before the answer leaves.
//
// What it does not promise: a catalog digest is immutable on the ledger for
// its period, so a list refreshed mid-period is served from the next
// period's catalog. It serves catalog PSI only (not ECDH-PSI). Answers are
// one frame each (node/peer), so catalog downloads are one chunk per
// request and the requester walks the offsets.
package provider
