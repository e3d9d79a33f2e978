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
type layout struct {
	dataDir string
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dataDir}, elem...)...)
}

func (l layout) cryptoDir() string          { return l.path("crypto") }
func (l layout) configDir() string          { return l.path("config") }
func (l layout) genesisBlock() string       { return l.path("config", ChannelName+".block") }
func (l layout) ordererDir() string         { return l.path("orderer") }
func (l layout) peerDir(org string) string  { return l.path("peers", org) }
func (l layout) builderDir() string         { return l.path("builders", "ccaas") }
func (l layout) chaincodeDir() string       { return l.path("chaincode") }
func (l layout) logDir() string             { return l.path("logs") }
func (l layout) pidDir() string             { return l.path("pids") }
func (l layout) binDir() string             { return l.path("bin") }
func (l layout) networkFile() string        { return l.path("network.json") }
func (l layout) logFile(name string) string { return l.path("logs", name+".log") }
func (l layout) pidFile(name string) string { return l.path("pids", name+".pid") }

// Orderer organisation material (cryptogen layout).
func (l layout) ordererOrgDir() string { return l.path("crypto", "ordererOrganizations", domain) }
func (l layout) ordererHost() string   { return "orderer." + domain }
func (l layout) ordererNodeDir() string {
	return filepath.Join(l.ordererOrgDir(), "orderers", l.ordererHost())
}
func (l layout) ordererTLSCA() string { return filepath.Join(l.ordererNodeDir(), "tls", "ca.crt") }
func (l layout) ordererAdminTLSDir() string {
	return filepath.Join(l.ordererOrgDir(), "users", "Admin@"+domain, "tls")
}

// Peer organisation material (cryptogen layout).
func orgDomain(org string) string { return org + "." + domain }
func peerHost(org string) string  { return "peer0." + orgDomain(org) }
func (l layout) peerOrgDir(org string) string {
	return l.path("crypto", "peerOrganizations", orgDomain(org))
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
