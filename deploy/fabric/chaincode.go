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
	"path/filepath"
	"strconv"
	"time"
)

// chaincodeVersion and chaincodeSequence define the one chaincode definition
// the network commits.
const (
	chaincodeVersion  = "1"
	chaincodeSequence = 1
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

// peerAdmin runs the peer CLI as organisation i's admin against its own peer.
type peerAdmin struct {
	net *Network
	i   int
}

func (a peerAdmin) run(ctx context.Context, args ...string) ([]byte, error) {
	o := Orgs[a.i]
	l := a.net.layout
	env := []string{
		"CORE_PEER_LOCALMSPID=" + o.MSPID,
		"CORE_PEER_MSPCONFIGPATH=" + l.userMSPDir(o.Name, "Admin"),
		"CORE_PEER_ADDRESS=" + a.net.orgs[a.i].PeerAddress,
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_ROOTCERT_FILE=" + l.peerTLSCA(o.Name),
		"FABRIC_LOGGING_SPEC=warning",
	}
	return runTool(ctx, filepath.Join(a.net.binDir, "peer"), env, l.peerDir(o.Name), args...)
}

func (a peerAdmin) ordererFlags() []string {
	return []string{"-o", a.net.ordererAddress, "--tls", "--cafile", a.net.layout.ordererTLSCA()}
}

func (a peerAdmin) joinChannel(ctx context.Context) error {
	_, err := a.run(ctx, "channel", "join", "-b", a.net.layout.genesisBlock())
	return err
}

func (a peerAdmin) install(ctx context.Context, pkgFile string) error {
	_, err := a.run(ctx, "lifecycle", "chaincode", "install", pkgFile)
	return err
}

func (a peerAdmin) approve(ctx context.Context, packageID string) error {
	args := []string{"lifecycle", "chaincode", "approveformyorg",
		"--channelID", ChannelName, "--name", ChaincodeName, "--version", chaincodeVersion,
		"--package-id", packageID, "--sequence", strconv.Itoa(chaincodeSequence),
		"--waitForEventTimeout", lifecycleEventTimeout.String()}
	_, err := a.run(ctx, append(args, a.ordererFlags()...)...)
	return err
}

// commit commits the definition, collecting endorsements from every peer and
// waiting until every peer has committed the block.
func (a peerAdmin) commit(ctx context.Context) error {
	args := []string{"lifecycle", "chaincode", "commit",
		"--channelID", ChannelName, "--name", ChaincodeName, "--version", chaincodeVersion,
		"--sequence", strconv.Itoa(chaincodeSequence),
		"--waitForEventTimeout", lifecycleEventTimeout.String()}
	for i, o := range Orgs {
		args = append(args, "--peerAddresses", a.net.orgs[i].PeerAddress,
			"--tlsRootCertFiles", a.net.layout.peerTLSCA(o.Name))
	}
	_, err := a.run(ctx, append(args, a.ordererFlags()...)...)
	return err
}

// joinOrderer joins the orderer to the channel through the channel
// participation API.
func (n *Network) joinOrderer(ctx context.Context) error {
	tls := n.layout.ordererAdminTLSDir()
	_, err := runTool(ctx, filepath.Join(n.binDir, "osnadmin"), nil, "",
		"channel", "join", "--channelID", ChannelName, "--config-block", n.layout.genesisBlock(),
		"-o", n.ordererAdminAddress, "--ca-file", n.layout.ordererTLSCA(),
		"--client-cert", filepath.Join(tls, "client.crt"), "--client-key", filepath.Join(tls, "client.key"))
	if err != nil {
		return fmt.Errorf("join orderer to %s: %w", ChannelName, err)
	}
	return nil
}
