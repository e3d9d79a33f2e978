// Package bench is RiskMesh's benchmark harness for researchers: a
// reproducible suite that measures batch-query throughput and latency of
// catalog PSI and ECDH-PSI against batch size, list size and the number of
// providers, in process and over QUIC on loopback, beside two baselines run
// on the same inputs (circl's RFC 9497 VOPRF and optable/match's DHPSI), and
// writes the results as CSV rows plus SVG and PNG plots (docs/benchmarks.md,
// "Benchmark harness").
//
// Every measurement checks its answer before it is recorded: lists and
// batches come from bench/synth with planted hits, and a run whose protocol
// finds a different intersection fails instead of producing a number. Every
// row carries the machine it ran on (CPU model, core count, GOMAXPROCS, Go
// version, git commit, date).
//
// Transports: "inprocess" calls the psi packages directly, both parties in
// this process; "quic-node" runs catalog PSI and live mode through the node
// as users run it: `riskmesh node` processes (the regulator hosting the
// embedded ledger, the providers, a requester) started by node/localnet,
// each query asked through the requester's business API, so it measures a
// whole network on one machine;
// "quic-peer" carries ECDH-PSI messages (RequesterLearns, one request and
// one reply) over node/peer directly, as no node serves ECDH-PSI yet;
// "tcp-loopback" is optable/match's own stream protocol.
//
// RunDaemon (riskmesh-bench daemon) is apart from the suite: over the same
// network (startNetwork) it times one-identifier queries, one at a time and
// concurrently, and large batches against the in-process rate.
//
// What it does not promise: timings on a shared machine are noisy. The
// harness records the load every row started under, waits a bounded time
// before each row for other work to quieten, and marks (or refuses) a row
// that other work still loaded (Config.MaxLoad); it does not control the
// load.
package bench
