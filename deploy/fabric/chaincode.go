package fabric

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// chaincodeVersion is the version of the first chaincode definition.
const (
	chaincodeVersion = "1"
	// connectDialTimeout is how long a peer waits to connect to the chaincode
	// server.
	connectDialTimeout = "10s"
	// lifecycleEventTimeout bounds the wait for an approval or the commit to
	// reach the peers' ledgers.
	lifecycleEventTimeout = 60 * time.Second
)

// ccaasPackage builds the chaincode package in the ccaas format: a gzipped
// tar of metadata.json (type "ccaas") and code.tar.gz, which holds only
// connection.json, the chaincode server's address. No TLS: the server
// listens on loopback only. The package id is label:sha256(package), as
// `peer lifecycle chaincode calculatepackageid` computes it; the bytes are
// deterministic, so the id is stable for a given label and address.
func ccaasPackage(label, serverAddr string) (pkg []byte, id string, err error) {
	conn, err := json.Marshal(map[string]any{
		"address":      serverAddr,
		"dial_timeout": connectDialTimeout,
		"tls_required": false,
	})
	if err != nil {
		return nil, "", err
	}
	code, err := tarGz(map[string][]byte{"connection.json": conn})
	if err != nil {
		return nil, "", err
	}
	meta, err := json.Marshal(map[string]string{"type": "ccaas", "label": label})
	if err != nil {
		return nil, "", err
	}
	pkg, err = tarGz(map[string][]byte{"metadata.json": meta, "code.tar.gz": code})
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(pkg)
	return pkg, label + ":" + hex.EncodeToString(sum[:]), nil
}

// tarGz writes files in a fixed order (metadata.json first, as Fabric's
// packager does) with zero timestamps.
func tarGz(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"metadata.json", "code.tar.gz", "connection.json"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chaincodeDefinition is one chaincode definition of the channel and the
// package and server that run it.
type chaincodeDefinition struct {
	label     string
	version   string
	sequence  int
	packageID string // set by writePackage
	address   string // of the chaincode server; set by writePackage
}

// writePackage builds the package of def, whose server listens on its
// sequence's port slot, into the chaincode folder and sets def's package id
// and address.
func (n *Network) writePackage(def *chaincodeDefinition) error {
	def.address = addr(chaincodePort(n.info.BasePort, def.sequence))
	pkg, id, err := ccaasPackage(def.label, def.address)
	if err != nil {
		return err
	}
	def.packageID = id
	return os.WriteFile(n.packageFile(def.label), pkg, 0o644)
}

// packageFile is where the package labelled label is kept.
func (n *Network) packageFile(label string) string {
	return filepath.Join(n.layout.chaincodeDir(), label+".tar.gz")
}

// startChaincode starts the chaincode server of def. The regulator is fixed
// at deployment by the server's configuration: here, the network's regulator
// organisation. Entries of Config.Chaincode.Env come later and so override
// it.
func (n *Network) startChaincode(def chaincodeDefinition) (*process, error) {
	env := append([]string{
		"CHAINCODE_ID=" + def.packageID,
		"CHAINCODE_SERVER_ADDRESS=" + def.address,
		"RISKMESH_REGULATOR_MSPID=" + RegulatorMSPID,
		n.memLimit(),
	}, n.cfg.Chaincode.Env...)
	return n.start(fmt.Sprintf("chaincode-%d", def.sequence), n.cfg.Chaincode.Binary, n.cfg.Chaincode.Args,
		env, n.layout.chaincodeDir())
}

// setDefinition records def as the committed definition.
func (n *Network) setDefinition(def chaincodeDefinition) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.info.PackageID, n.info.ChaincodeLabel, n.info.ChaincodeVersion = def.packageID, def.label, def.version
	n.info.Sequence, n.info.ChaincodeAddress = def.sequence, def.address
}

// definition returns the committed definition.
func (n *Network) definition() chaincodeDefinition {
	n.mu.Lock()
	defer n.mu.Unlock()
	return chaincodeDefinition{label: n.info.ChaincodeLabel, version: n.info.ChaincodeVersion,
		sequence: n.info.Sequence, packageID: n.info.PackageID, address: n.info.ChaincodeAddress}
}

// peerAdmin runs the peer CLI as an organisation's admin against its own
// peer, from the organisation's own folder. The admin is the peer
// organisation's, or the admin of the ordering organisation it runs, who
// signs changes of the ordering service (ordererAdmins).
type peerAdmin struct {
	net    *Network
	org    Org
	mspID  string
	mspDir string
}

func (n *Network) admin(o Org) peerAdmin {
	return peerAdmin{net: n, org: o, mspID: o.MSPID, mspDir: n.layout.userMSPDir(o.Name, "Admin")}
}

func (a peerAdmin) run(ctx context.Context, args ...string) ([]byte, error) {
	o := a.org
	l := a.net.layout
	env := []string{
		"CORE_PEER_LOCALMSPID=" + a.mspID,
		"CORE_PEER_MSPCONFIGPATH=" + a.mspDir,
		"CORE_PEER_ADDRESS=" + o.PeerAddress,
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_ROOTCERT_FILE=" + o.PeerTLSCACert,
		"FABRIC_LOGGING_SPEC=warning",
	}
	out, err := runTool(ctx, filepath.Join(a.net.cfg.BinDir, "peer"), env, l.peerDir(o.Name), args...)
	if err != nil {
		return out, fmt.Errorf("%s admin: %w", a.mspID, err)
	}
	return out, nil
}

// ordererFlags point a peer command at an orderer that accepts connections:
// any orderer serves, and one may be down.
func (a peerAdmin) ordererFlags(ctx context.Context) []string {
	orderers := a.net.Info().Orderers
	o := orderers[0]
	for _, c := range orderers {
		if ok, _ := tcpReady(c.Address)(ctx); ok {
			o = c
			break
		}
	}
	return []string{"-o", o.Address, "--tls", "--cafile", o.TLSCACert}
}

func (a peerAdmin) joinChannel(ctx context.Context, block string) error {
	_, err := a.run(ctx, "channel", "join", "-b", block)
	return err
}

func (a peerAdmin) install(ctx context.Context, pkgFile string) error {
	_, err := a.run(ctx, "lifecycle", "chaincode", "install", pkgFile)
	return err
}

func (a peerAdmin) approve(ctx context.Context, def chaincodeDefinition) error {
	args := []string{"lifecycle", "chaincode", "approveformyorg",
		"--channelID", ChannelName, "--name", ChaincodeName, "--version", def.version,
		"--package-id", def.packageID, "--sequence", strconv.Itoa(def.sequence),
		"--waitForEventTimeout", lifecycleEventTimeout.String()}
	_, err := a.run(ctx, append(args, a.ordererFlags(ctx)...)...)
	return err
}

// commit commits the definition, collecting endorsements from the peers of
// orgs and waiting until every one of them has committed the block.
func (a peerAdmin) commit(ctx context.Context, def chaincodeDefinition, orgs []Org) error {
	args := []string{"lifecycle", "chaincode", "commit",
		"--channelID", ChannelName, "--name", ChaincodeName, "--version", def.version,
		"--sequence", strconv.Itoa(def.sequence),
		"--waitForEventTimeout", lifecycleEventTimeout.String()}
	for _, o := range orgs {
		args = append(args, "--peerAddresses", o.PeerAddress, "--tlsRootCertFiles", o.PeerTLSCACert)
	}
	_, err := a.run(ctx, append(args, a.ordererFlags(ctx)...)...)
	return err
}
