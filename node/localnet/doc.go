// Package localnet starts and stops a local RiskMesh consortium: one real
// `riskmesh node` process per institution on loopback QUIC, the regulator's
// node hosting the embedded ledger, each in its own directory with its own
// identity, node.yaml and log file. It is what `riskmesh demo` runs, and it is
// written so that integration tests can start a network the same way.
//
// Start does what an operator would do by hand (docs/node.md): it generates
// every identity (node/identity), writes the consortium file and each
// node.yaml (node/config, loopback addresses on ports that were free a moment
// before), starts the regulator, onboards the members on the ledger as the
// regulator (institutions, roles, prices, overdraft limits), starts the
// members, waits until each has registered its endpoint and keys, opens
// period 1 and waits until every node is serving it. WaitCatalogs then follows
// the providers' catalog builds and a requester's downloads.
//
// A port free when it is picked may be taken before the node binds it, by
// another program or an outgoing connection: a node that exits at start
// while another socket holds one of its ports is moved to fresh ports and
// started again (the regulator before any member starts, as the members'
// node.yaml name its endpoint). The auditor service starts before the
// members for the same reason and moves the same way, the members'
// node.yaml rewritten with its new address. Ports picked in one process
// are never picked twice, so networks started at once by one program do
// not collide.
//
// With Config.Auditor the regulator is also the consortium's auditor: it is
// onboarded with the auditor role, runs the dispute service (`riskmesh audit
// serve`) as a process of its own, and every member's node.yaml files the
// answers it finds bad with that service (docs/audit.md). Restart changes a
// node's node.yaml and restarts it, e.g. to make a provider misbehave
// (provider.misbehave) and show a dispute upheld and reversed.
//
// The network stops exactly the processes it started: SIGTERM, then SIGKILL
// after Config.StopTimeout, members before the auditor service and the
// regulator so that their accounting entries reach the ledger. Each process
// gets its own process group, so a Ctrl-C at the terminal reaches only the
// program that started the network, which decides the order of the stop.
//
// What it does not do: run on several machines, use Fabric, or keep running
// after its caller exits. Waiting on another process's background work has no
// signal to wait for, so the waits poll the nodes' business API and the ledger
// at a short interval until the caller's context ends.
package localnet
