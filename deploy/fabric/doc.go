// Package fabric brings up a real Hyperledger Fabric v2.5.0 network on one
// machine, without Docker, for the RiskMesh ledger's integration tests,
// benchmarks and demos, and changes it while it runs the way a consortium
// does.
//
// The network is three etcdraft orderers run by three different
// organisations (channel participation API, no system channel), one peer for
// each of RegulatorMSP, Bank1MSP, Bank2MSP and Bank3MSP (or the
// organisations Config.Orgs names), the channel "riskmesh" and the chaincode
// "riskmesh", run as a service (Fabric's chaincode-as-a-service model with
// the project's own external builder, embedded here). Every organisation
// generates its own crypto material and runs its nodes from its own folder.
// All listeners are on 127.0.0.1 from a base port that callers can shift;
// all state lives in one data dir. The binaries are built from the Go module
// proxy through the nested module in deploy/fabric/build, as described in
// docs/fabric-network.md.
//
// A running network admits an organisation (AddOrg: a configuration update
// computed in Go and signed by a majority of the members' admins, then the
// newcomer's peer joins, catches up and approves the chaincode), removes one
// or rolls back a join that failed half way (RemoveOrg), upgrades the
// chaincode to the next sequence (UpgradeChaincode), renews a peer's
// certificates (RenewPeerCertificates) and an orderer's TLS certificate
// (RenewOrdererTLS), rotates an organisation's CA (RotateCA, RetireCA),
// removes and adds orderers (RemoveOrderer, AddOrderer) and survives an
// orderer stopped (StopOrderer); Open attaches to a network another process
// started. docs/operations.md walks through these steps.
//
// Every process runs in its own process group, logs to the data dir and is
// recorded in a pid file; Network.Stop and Down stop exactly those processes.
// Readiness is always polled (health endpoints, Raft leadership metrics,
// ports, block heights), never assumed after a fixed sleep.
//
// It is a test and development network: one peer per organisation, every
// host 127.0.0.1, cryptogen material with keys on disk, the chaincode server
// without TLS on loopback. It does not promise anything about a production
// deployment, and it is Linux-only (process groups, parent-death signal,
// /proc).
package fabric
