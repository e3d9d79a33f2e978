package fabric

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sampleConfigDir locates Fabric's sampleconfig/ in the module cache, through
// the nested build module that pins the version.
func sampleConfigDir(ctx context.Context, repoDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/hyperledger/fabric")
	cmd.Dir = filepath.Join(repoDir, "deploy", "fabric", "build")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: locate fabric module: %v: %s", ErrCommandFail, err, bytes.TrimSpace(stderr.Bytes()))
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "sampleconfig")
	if _, err := os.Stat(filepath.Join(dir, "core.yaml")); err != nil {
		return "", fmt.Errorf("%w: no sampleconfig in %s", ErrConfig, dir)
	}
	return dir, nil
}

// cliPingInterval is how often Fabric's peer CLI pings the orderers and
// peers it calls: it sets no keepalive interval, which gRPC raises to its
// 10 s floor. Fabric's sample configurations permit one ping a minute and
// answer the third early one with GOAWAY "too_many_pings", so a CLI call
// that waits half a minute without an answer (a channel update or fetch
// while Raft elects a leader on a loaded machine) can fail with it at
// bring-up. The servers here permit the CLI's rate.
const cliPingInterval = "10s"

// writeOrdererConfig copies orderer.yaml into the folder of o, which runs
// orderer j, and points it at o's material, folders and ports. The channel
// participation API replaces the system channel: the orderer starts without
// a genesis block and is joined to the channel with osnadmin. clusterCAs are
// the TLS CAs of every ordering organisation, which the Raft cluster's
// connections between orderers verify.
func writeOrdererConfig(sampleDir string, l layout, base, j int, o OrgSpec, clusterCAs []string) error {
	doc, err := loadYAML(filepath.Join(sampleDir, "orderer.yaml"))
	if err != nil {
		return err
	}
	tls := filepath.Join(l.ordererNodeDir(o.Name), "tls")
	ledger := filepath.Join(l.ordererDir(o.Name), "data")
	ports := ordererBase(base, j)
	err = doc.setAll(map[string]any{
		"General.ListenAddress":             "127.0.0.1",
		"General.ListenPort":                ports + ordererPortOffset,
		"General.TLS.Enabled":               true,
		"General.TLS.PrivateKey":            filepath.Join(tls, "server.key"),
		"General.TLS.Certificate":           filepath.Join(tls, "server.crt"),
		"General.TLS.RootCAs":               clusterCAs,
		"General.Cluster.ClientCertificate": filepath.Join(tls, "server.crt"),
		"General.Cluster.ClientPrivateKey":  filepath.Join(tls, "server.key"),
		"General.Cluster.RootCAs":           clusterCAs,
		"General.BootstrapMethod":           "none",
		"General.BootstrapFile":             "",
		"General.LocalMSPDir":               filepath.Join(l.ordererNodeDir(o.Name), "msp"),
		"General.LocalMSPID":                o.ordererMSPID(),
		"General.Profile.Enabled":           true,
		"General.Profile.Address":           addr(ports + ordererProfileOffset),
		"FileLedger.Location":               ledger,
		"Consensus.WALDir":                  filepath.Join(ledger, "etcdraft", "wal"),
		"Consensus.SnapDir":                 filepath.Join(ledger, "etcdraft", "snapshot"),
		"Operations.ListenAddress":          addr(ports + ordererOpsOffset),
		"Metrics.Provider":                  "prometheus",
		"Admin.ListenAddress":               addr(ports + ordererAdminOffset),
		"Admin.TLS.Enabled":                 true,
		"Admin.TLS.PrivateKey":              filepath.Join(tls, "server.key"),
		"Admin.TLS.Certificate":             filepath.Join(tls, "server.crt"),
		"Admin.TLS.ClientAuthRequired":      true,
		"Admin.TLS.ClientRootCAs":           []string{filepath.Join(tls, "ca.crt")},
		"ChannelParticipation.Enabled":      true,
		// The peer CLI's pings are welcome (cliPingInterval).
		"General.Keepalive.ServerMinInterval": cliPingInterval,
	})
	if err != nil {
		return err
	}
	return doc.write(filepath.Join(l.ordererDir(o.Name), "orderer.yaml"))
}

// writePeerConfig copies core.yaml into the folder of o, organisation i,
// for its peer.
func writePeerConfig(sampleDir string, l layout, base, i int, o OrgSpec) error {
	doc, err := loadYAML(filepath.Join(sampleDir, "core.yaml"))
	if err != nil {
		return err
	}
	p := peerPort(base, i)
	self := addr(p + peerListenOffset)
	tls := filepath.Join(l.peerNodeDir(o.Name), "tls")
	dir := l.peerDir(o.Name)
	err = doc.setAll(map[string]any{
		"peer.id":                       peerHost(o.Name),
		"peer.networkId":                "riskmesh",
		"peer.listenAddress":            self,
		"peer.address":                  self,
		"peer.chaincodeListenAddress":   addr(p + peerChaincodeOffset),
		"peer.chaincodeAddress":         addr(p + peerChaincodeOffset),
		"peer.localMspId":               o.MSPID,
		"peer.mspConfigPath":            filepath.Join(l.peerNodeDir(o.Name), "msp"),
		"peer.fileSystemPath":           filepath.Join(dir, "data"),
		"peer.gossip.bootstrap":         self,
		"peer.gossip.externalEndpoint":  self,
		"peer.gossip.useLeaderElection": false,
		"peer.gossip.orgLeader":         true, // one peer per organisation: no election delay
		"peer.tls.enabled":              true,
		"peer.tls.cert.file":            filepath.Join(tls, "server.crt"),
		"peer.tls.key.file":             filepath.Join(tls, "server.key"),
		"peer.tls.rootcert.file":        filepath.Join(tls, "ca.crt"),
		"peer.tls.clientRootCAs.files":  []string{filepath.Join(tls, "ca.crt")},
		"peer.profile.enabled":          true,
		"peer.profile.listenAddress":    addr(p + peerProfileOffset),
		// The peer CLI's pings are welcome (cliPingInterval).
		"peer.keepalive.minInterval": cliPingInterval,
		// Pending commit-status waits count against the gateway limit (500 by
		// default); a benchmark with many submissions in flight hits it.
		"peer.limits.concurrency.gatewayService":  defaultGatewayLimit,
		"peer.limits.concurrency.endorserService": defaultGatewayLimit,
		"peer.limits.concurrency.deliverService":  defaultGatewayLimit,
		// No Docker: a blank endpoint disables the Docker VM (otherwise
		// /healthz answers 503) and chaincode runs only through the
		// external builder below.
		"vm.endpoint": "",
		"chaincode.externalBuilders": []map[string]any{{
			"name": "riskmesh-ccaas",
			"path": l.builderDir(),
		}},
		"ledger.snapshots.rootDir": filepath.Join(dir, "snapshots"),
		// The contract never reads key history; indexing every write of
		// every entry on four peers is commit work for nothing.
		"ledger.history.enableHistoryDatabase": false,
		"operations.listenAddress":             addr(p + peerOpsOffset),
		"metrics.provider":                     "prometheus",
	})
	if err != nil {
		return err
	}
	return doc.write(filepath.Join(dir, "core.yaml"))
}
