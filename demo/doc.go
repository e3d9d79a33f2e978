// Package demo is the scenes of `riskmesh demo` (docs/demo.md): synthetic
// lists for a regulator and four institutions, a network of real node
// processes on loopback (node/localnet) with the embedded ledger, and a
// run through what a consortium does, each step checked by value.
//
// The scenes, in order: generate the lists and a query batch with planted
// hits (bench/synth); start the nodes; follow the catalog builds and
// downloads; query and check every answer against the planted hits; read
// the query's accounting entries on the ledger; audit each answer's
// transcript against its entry (accounting/audit), and an altered copy;
// rotate two institutions' signing keys and audit again; restart a
// provider misbehaving and follow the requester's node disputing its
// answer until the entry is reversed; dispute an honest answer with
// `riskmesh dispute --json` and see it rejected; let every institution
// report the outcomes of its hits on the others, with one provider's
// planted false positives found wrong, and check the ledger's scores; roll
// over, close, settle and snapshot the period and check the balances; set a
// quality policy and open the period it prices, and check the lower price
// and the ranking by quality there (quality.go).
//
// A scene checks what it sees through the business API, the ledger or a
// command's --json output parsed into its type, never a command's wording.
// The narrative for a person goes to Config.Out; Run returns the Summary
// that `riskmesh demo --json` prints. The demo is a walk-through, not a
// test harness: the same paths are tested in node/nodetest and the
// packages themselves.
package demo
