// Package fabric brings up a real Hyperledger Fabric v2.5.0 network on one
// machine, without Docker, for the RiskMesh ledger's integration tests,
// benchmarks and demos.
//
// The network is one etcdraft orderer (channel participation API, no system
// channel), one peer for each of RegulatorMSP, Bank1MSP, Bank2MSP and
// Bank3MSP, the channel "riskmesh" and the chaincode "riskmesh", run as a
// service (Fabric's chaincode-as-a-service model with the project's own
// external builder, embedded here). All listeners are on 127.0.0.1 from a
// base port that callers can shift; all state lives in one data dir. The
// binaries are built from the Go module proxy through the nested module in
// deploy/fabric/build, as described in docs/fabric-network.md.
//
// Every process runs in its own process group, logs to the data dir and is
// recorded in a pid file; Network.Stop and Down stop exactly those processes.
// Readiness is always polled (health endpoints, Raft leadership metrics,
// ports), never assumed after a fixed sleep.
//
// It is a test and development network: one orderer and one peer per
// organisation, cryptogen material with keys on disk, the chaincode server
// without TLS on loopback. It does not promise anything about a production
// deployment, and it is Linux-only (process groups, parent-death signal,
// /proc).
package fabric
