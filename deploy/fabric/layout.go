package fabric

import (
	"fmt"
	"path/filepath"
)

// domain is the DNS suffix of every generated identity. The names never
// resolve: every dial goes to 127.0.0.1, which the certificates carry as a SAN.
const domain = "riskmesh.test"

// layout names every file and folder under a data dir, so that Up, Down and
// Load agree without passing paths around.
//
// Each organisation owns orgs/<name>/: its crypto-config.yaml, the material
// cryptogen generated for it alone, its peer's configuration and ledger and,
// if it runs one, its orderer's. Nothing in one organisation's folder is
// written by another: what the others need from it (its MSP's certificates,
// its TLS CA) is public and read from there, as it would be copied between
// hosts. config/ holds what the consortium shares: the channel's founding
// configuration and the configuration updates its admins sign.
type layout struct {
	dataDir string
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dataDir}, elem...)...)
}

func (l layout) configDir() string          { return l.path("config") }
func (l layout) genesisBlock() string       { return l.path("config", ChannelName+".block") }
func (l layout) builderDir() string         { return l.path("builders", "ccaas") }
func (l layout) chaincodeDir() string       { return l.path("chaincode") }
func (l layout) logDir() string             { return l.path("logs") }
func (l layout) pidDir() string             { return l.path("pids") }
func (l layout) binDir() string             { return l.path("bin") }
func (l layout) networkFile() string        { return l.path("network.json") }
func (l layout) logFile(name string) string { return l.path("logs", name+".log") }
func (l layout) pidFile(name string) string { return l.path("pids", name+".pid") }

// The folders an organisation owns.
func (l layout) orgDir(org string) string     { return l.path("orgs", org) }
func (l layout) cryptoDir(org string) string  { return l.path("orgs", org, "crypto") }
func (l layout) peerDir(org string) string    { return l.path("orgs", org, "peer") }
func (l layout) ordererDir(org string) string { return l.path("orgs", org, "orderer") }

// Ordering organisation material of org (cryptogen layout).
func ordererDomain(org string) string { return "orderer." + orgDomain(org) }
func ordererHost(org string) string   { return "orderer0." + ordererDomain(org) }
func (l layout) ordererOrgDir(org string) string {
	return filepath.Join(l.cryptoDir(org), "ordererOrganizations", ordererDomain(org))
}
func (l layout) ordererNodeDir(org string) string {
	return filepath.Join(l.ordererOrgDir(org), "orderers", ordererHost(org))
}
func (l layout) ordererTLSCA(org string) string {
	return filepath.Join(l.ordererNodeDir(org), "tls", "ca.crt")
}
func (l layout) ordererAdminTLSDir(org string) string {
	return filepath.Join(l.ordererOrgDir(org), "users", "Admin@"+ordererDomain(org), "tls")
}

// Peer organisation material of org (cryptogen layout).
func orgDomain(org string) string { return org + "." + domain }
func peerHost(org string) string  { return "peer0." + orgDomain(org) }
func (l layout) peerOrgDir(org string) string {
	return filepath.Join(l.cryptoDir(org), "peerOrganizations", orgDomain(org))
}
func (l layout) peerNodeDir(org string) string {
	return filepath.Join(l.peerOrgDir(org), "peers", peerHost(org))
}
func (l layout) peerTLSCA(org string) string {
	return filepath.Join(l.peerNodeDir(org), "tls", "ca.crt")
}
func (l layout) userMSPDir(org, user string) string {
	return filepath.Join(l.peerOrgDir(org), "users", fmt.Sprintf("%s@%s", user, orgDomain(org)), "msp")
}
